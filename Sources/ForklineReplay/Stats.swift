import ForklineTraceFormat

/// Per-process timing for `replay stats`.
public struct ProcessTiming: Sendable, Hashable {
    /// The process's pid.
    public var pid: Int32
    /// Its unique id.
    public var puid: UInt64
    /// The name its `start` gives.
    public var name: String
    /// Its start method (`root`, `fork`, `spawn`, `forkserver`).
    public var role: String
    /// From its first event to its last.
    public var lifetime: UInt64
    /// Time it spent waiting for another process, where the trace can tell: for each event with a
    /// causal edge arriving (a join, a recv, a lock acquire, a child's start), the part of the
    /// gap since the process's previous event that came before the cause happened (the child's
    /// end, the send, the release). An upper bound on blocking, since the process may have
    /// computed before it began to wait.
    public var waited: UInt64
    /// `lifetime - waited`: a lower bound on the time it was running or runnable.
    public var busy: UInt64 { lifetime >= waited ? lifetime - waited : 0 }
    /// Its number of events.
    public var events: Int
}

/// Latency percentiles (nearest rank) of a set of durations.
public struct Percentiles: Sendable, Hashable {
    /// How many durations there are.
    public var count: Int
    /// The median, the 90th and 99th percentiles and the largest, in ns.
    public var p50: UInt64, p90: UInt64, p99: UInt64, max: UInt64

    /// Percentiles of `values` (all zero when empty).
    public init(_ values: [UInt64]) {
        let s = values.sorted()
        count = s.count
        func rank(_ q: Double) -> UInt64 {
            guard !s.isEmpty else { return 0 }
            let i = Int((q * Double(s.count)).rounded(.up)) - 1
            return s[Swift.min(Swift.max(i, 0), s.count - 1)]
        }
        p50 = rank(0.5); p90 = rank(0.9); p99 = rank(0.99); max = s.last ?? 0
    }

    var json: String { "{\"count\":\(count),\"p50\":\(p50),\"p90\":\(p90),\"p99\":\(p99),\"max\":\(max)}" }
    var text: String { "p50 \(formatNs(p50)), p90 \(formatNs(p90)), p99 \(formatNs(p99)), max \(formatNs(max))" }
}

extension Trace {
    /// Each process's lifetime, waiting and busy time (see ``ProcessTiming``).
    public func timings() -> [ProcessTiming] {
        let incoming = causalGraph.incoming(processCount: processes.count)
        return processes.enumerated().map { pi, p in
            let times = p.events.filter { $0.kind != .modules }.map(\.time)
            var waited: UInt64 = 0
            for (pos, sources) in incoming[pi] where pos > 0 && pos < p.events.count {
                let prev = p.events[pos - 1].time, here = p.events[pos].time
                let cause = sources.map { processes[$0.0].events[$0.1].time }.max() ?? prev
                let until = min(here, cause)
                if until > prev { waited += until - prev }
            }
            return ProcessTiming(pid: p.header.pid, puid: p.header.puid, name: p.name, role: role(of: p),
                                 lifetime: (times.max() ?? 0) - (times.min() ?? 0), waited: waited, events: p.events.count)
        }
    }

    /// Per channel (the `channel` argument of sends and recvs): sends, receives and send -> recv
    /// latency, by channel id.
    public func channelStats() -> [(channel: UInt64, sends: Int, recvs: Int, latency: Percentiles)] {
        var sends: [UInt64: Int] = [:], recvs: [UInt64: Int] = [:], lat: [UInt64: [UInt64]] = [:]
        for p in processes {
            for e in p.events where e.kind == .send || e.kind == .recv {
                guard let c = e["channel"]?.uint else { continue }
                if e.kind == .send { sends[c, default: 0] += 1 }
                if e.kind == .recv { recvs[c, default: 0] += 1 }
            }
        }
        for f in flows where f.from.kind == .send {
            if let c = f.from["channel"]?.uint { lat[c, default: []].append(f.latency) }
        }
        return Set(sends.keys).union(recvs.keys).sorted().map { c in
            (c, sends[c] ?? 0, recvs[c] ?? 0, Percentiles(lat[c] ?? []))
        }
    }

    /// Cause -> effect latency of every flow, by flow label (`fork`, `message`, `lock`, ...).
    public func flowStats() -> [(label: String, latency: Percentiles)] {
        var by: [String: [UInt64]] = [:]
        for f in flows { by[f.label, default: []].append(f.latency) }
        return by.sorted { $0.key < $1.key }.map { ($0.key, Percentiles($0.value)) }
    }

    /// `replay stats --json`: `{"processes": N, "events": {"<kind>": count}, "total_events",
    /// "wall_ns", "per_process": [...], "channels": [...], "flows": {...}, "critical_path": {...},
    /// "pools": [...]}` (``PoolStats``, one per pool in the trace), and for several hosts
    /// `"host_clocks"` (``HostClocks/json``): the times and latencies are then on one clock
    /// unless `alignClocks` is false.
    public func statsJSON(alignClocks: Bool = true) -> String {
        let (t, clocks) = forViews(align: alignClocks)
        let note = isMultiHost ? ",\"host_clocks\":" + (clocks?.json ?? "{\"aligned\":false}") : ""
        return t.statsJSONBody(hostClocks: note)
    }

    func statsJSONBody(hostClocks: String) -> String {
        var counts: [String: Int] = [:]
        for p in processes { for e in p.events { counts[e.kind.name, default: 0] += 1 } }
        let kinds = counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        let wall = timeSpan.map { $0.upperBound - $0.lowerBound } ?? 0
        let per = timings().map {
            "{\"pid\":\($0.pid),\"puid\":\"\(hex16($0.puid))\",\"name\":\(JSONLines.quote($0.name)),\"role\":\"\($0.role)\",\"events\":\($0.events),\"lifetime_ns\":\($0.lifetime),\"waited_ns\":\($0.waited),\"busy_ns\":\($0.busy)}"
        }.joined(separator: ",")
        let chans = channelStats().map {
            "{\"channel\":\"0x\(String($0.channel, radix: 16))\",\"sends\":\($0.sends),\"recvs\":\($0.recvs),\"latency_ns\":\($0.latency.json)}"
        }.joined(separator: ",")
        let fl = flowStats().map { "\(JSONLines.quote($0.label)):\($0.latency.json)" }.joined(separator: ",")
        let cp = criticalPath()
        let segs = cp.segments.map { s in
            "{\"pid\":\(s.from.pid),\"name\":\(JSONLines.quote(process(s.from.puid)?.name ?? "?")),\"via\":\(s.via.map(JSONLines.quote) ?? "null"),\"from\":\(ref(s.from)),\"to\":\(ref(s.to)),\"ns\":\(s.duration)}"
        }.joined(separator: ",")
        return "{\"processes\":\(processes.count),\"events\":{\(kinds)},\"total_events\":\(eventCount),\"wall_ns\":\(wall),"
            + "\"per_process\":[\(per)],\"channels\":[\(chans)],\"flows\":{\(fl)},"
            + "\"critical_path\":{\"ns\":\(cp.duration),\"segments\":[\(segs)]},\"pools\":\(poolStatsJSON())\(hostClocks)}"
    }

    func ref(_ e: TraceEvent) -> String { "{\"kind\":\"\(e.kind.name)\",\"seq\":\(e.seq),\"time_ns\":\(e.time)}" }

    /// Human-readable stats: per process its lifetime, busy and waiting time; channels; flows;
    /// the critical path; for several hosts, a `clocks:` line first (on one clock unless
    /// `alignClocks` is false, as in ``statsJSON(alignClocks:)``).
    public func statsText(alignClocks: Bool = true) -> String {
        let (t, clocks) = forViews(align: alignClocks)
        return t.statsTextBody(clocks: isMultiHost ? "clocks: " + (clocks?.summary ?? HostClocks.ownClocksNote) + "\n" : "")
    }

    func statsTextBody(clocks: String) -> String {
        var out = "\(processes.count) processes, \(eventCount) events"
        if let s = timeSpan { out += ", wall \(formatNs(s.upperBound - s.lowerBound))" }
        out += "\n" + clocks
        for (p, t) in zip(processes, timings()) {
            out += "  pid \(p.header.pid) \(p.name) [\(t.role)]: \(p.events.count) events, lifetime \(formatNs(t.lifetime)), busy \(formatNs(t.busy)), waited \(formatNs(t.waited))"
            if let end = p.end { out += ", \(end.kind == .exit ? "exit(\(end.exitCode ?? 0))" : "crash(\(signalName(end.signalNumber ?? 0)))")" }
            out += "\n"
        }
        let chans = channelStats()
        if !chans.isEmpty {
            out += "channels:\n"
            for c in chans { out += "  0x\(String(c.channel, radix: 16)): \(c.sends) sent, \(c.recvs) received; latency \(c.latency.text)\n" }
        }
        let fl = flowStats()
        if !fl.isEmpty {
            out += "hand-offs (cause -> effect):\n"
            for f in fl { out += "  \(f.label): \(f.latency.count), \(f.latency.text)\n" }
        }
        out += poolStatsText()
        let cp = criticalPath()
        if !cp.segments.isEmpty {
            out += "critical path (\(formatNs(cp.duration))):\n"
            for s in cp.segments {
                let name = process(s.from.puid)?.name ?? "?"
                out += "  " + (s.via.map { "-\($0)-> " } ?? "") + "pid \(s.from.pid) \(name): \(s.from.kind.name)#\(s.from.seq) .. \(s.to.kind.name)#\(s.to.seq) (\(formatNs(s.duration)))\n"
            }
        }
        return out
    }
}
