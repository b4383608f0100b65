import ForklineTraceFormat

/// Chrome Trace Event JSON (the format Perfetto and chrome://tracing open): `replay export
/// --format chrome`.
///
/// Per process: `process_name` metadata (`"NAME [ROLE]"`: Perfetto adds the pid itself) and
/// `process_sort_index` (load order, parents before their children); on its main thread a slice
/// over its lifetime that runs to its death (its ``ProcessEnding`` summary in `end`), a slice
/// per pool task (an unfinished one runs to the death), a zero-length slice per event with typed
/// arguments (numbers as numbers, ids in hex, enum codes by name, backtraces as symbolised
/// frames), and a `died` slice (`cname` `terrible`) where a crash or a kill ended it; on a second
/// thread, `holds`, a slice per lock, RLock or semaphore hold. Counter tracks: per pool, pending
/// tasks and busy workers; per queue, its depth. A flow (`ph` `s`/`f`, one `id`) per
/// cross-process causal edge. Times are microseconds from the trace's first event, with
/// nanosecond decimals; with several hosts, on one clock (``HostClocks``, unless `alignClocks` is
/// false), and `otherData.host_clocks` gives the offsets applied (``HostClocks/json``).
public enum ChromeTrace {
    /// Renders `trace` as one JSON object `{"traceEvents": [...], "displayTimeUnit": "ns", ...}`.
    public static func export(_ recorded: Trace, alignClocks: Bool = true) -> String {
        let (trace, clocks) = recorded.forViews(align: alignClocks)
        let t0 = trace.timeSpan?.lowerBound ?? 0
        func ts(_ t: UInt64) -> String { micro(t >= t0 ? t - t0 : 0) }
        // Chrome pids must be unique integers: a reused pid gets an offset.
        var chromePid: [UInt64: Int64] = [:]
        var used: Set<Int64> = []
        for p in trace.processes where chromePid[p.header.puid] == nil {
            var id = Int64(p.header.pid)
            while used.contains(id) { id += 1 << 32 }
            used.insert(id)
            chromePid[p.header.puid] = id
        }
        let endings = trace.endings
        let symbolizer = Symbolizer()
        let blocked = Dictionary(grouping: trace.blockedIntervals(), by: \.puid)
        var out: [String] = []
        // Several hosts: lanes sorted host by host, each process labelled with its host.
        let multiHost = trace.isMultiHost
        let sortIndex = Dictionary(trace.groupedByHost(trace.processes).enumerated().map { ($1.header.puid, $0) },
                                   uniquingKeysWith: { a, _ in a })
        for (i, p) in trace.processes.enumerated() {
            guard let cp = chromePid[p.header.puid] else { continue }
            let role = trace.role(of: p), ending = endings[i]
            let head = "\"pid\":\(cp),\"tid\":\(cp)", holdsHead = "\"pid\":\(cp),\"tid\":\(cp + Self.holdsThread)"
            let host = trace.hostLabel(p.header.host)
            let label = JSONLines.quote((multiHost ? "\(host): " : "") + "\(p.name) [\(role)]")
            let hostArg = multiHost ? ",\"host\":\(JSONLines.quote(host))" : ""
            out.append("{\"name\":\"process_name\",\"ph\":\"M\",\(head),\"args\":{\"name\":\(label),\"pid\":\(p.header.pid),\"name_in_trace\":\(JSONLines.quote(p.name)),\"role\":\"\(role)\",\"puid\":\"\(hex16(p.header.puid))\"\(hostArg)}}")
            out.append("{\"name\":\"process_sort_index\",\"ph\":\"M\",\(head),\"args\":{\"sort_index\":\(multiHost ? sortIndex[p.header.puid] ?? i : i)}}")
            if multiHost {
                out.append("{\"name\":\"process_labels\",\"ph\":\"M\",\(head),\"args\":{\"labels\":\(JSONLines.quote("host " + host))}}")
            }
            out.append("{\"name\":\"thread_name\",\"ph\":\"M\",\(head),\"args\":{\"name\":\(JSONLines.quote(p.name))}}")
            out.append("{\"name\":\"thread_sort_index\",\"ph\":\"M\",\(head),\"args\":{\"sort_index\":0}}")
            let evs = p.events.filter { $0.kind != .modules }
            guard let first = evs.map(\.time).min(), let last = evs.map(\.time).max() else { continue }
            // The lifetime runs to the death (a killed process's death is seen after its last event).
            let endT = max(last, ending.time) + 1
            let modules = trace.modules(for: p)
            let symbolize: (Backtrace) -> [String]? = { bt in
                symbolizer.symbolicate(bt, in: modules).map { $0.prefix(Self.maxFrames).map(\.description) }
            }
            func args(_ e: TraceEvent, _ extra: [String] = []) -> String {
                let items = EventText.typedArguments(e, symbolize: symbolize).map { "\(JSONLines.quote($0.name)):\($0.value.json)" }
                return "{" + (["\"seq\":\(e.seq)"] + items + extra).joined(separator: ",") + "}"
            }
            var lifeArgs = ["\"role\":\"\(role)\"", "\"end\":\(JSONLines.quote(ending.summary))", "\"end_exact\":\(ending.exact)"]
            if let o = ending.observedBy { lifeArgs.append("\"end_observed_by\":\(JSONLines.quote("\(o.kind.name) #\(o.seq) in pid \(o.pid)"))") }
            out.append("{\"name\":\(JSONLines.quote(p.name)),\"cat\":\"process\",\"ph\":\"X\",\(head),\"ts\":\(ts(first)),\"dur\":\(micro(endT - first)),\"args\":{\(lifeArgs.joined(separator: ","))}}")
            var openTasks: [TraceEvent] = []
            for e in evs {
                switch e.kind {
                case .taskBegin:
                    openTasks.append(e)
                    continue
                case .taskEnd:
                    if let b = openTasks.popLast() {
                        out.append("{\"name\":\(JSONLines.quote(taskName(b))),\"cat\":\"task\",\"ph\":\"X\",\(head),\"ts\":\(ts(b.time)),\"dur\":\(micro(e.time >= b.time ? e.time - b.time : 0)),\"args\":\(args(b, ["\"ok\":\(e["ok"]?.uint == 1)"]))}")
                        continue
                    }
                default: break
                }
                let death = e.kind == .crash || (e.kind == .join && { if case .signaled = e.observedStatus { true } else { false } }())
                out.append("{\"name\":\"\(e.kind.name)\",\"cat\":\"event\",\"ph\":\"X\",\(head),\"ts\":\(ts(e.time)),\"dur\":0,\(death ? "\"cname\":\"terrible\"," : "")\"args\":\(args(e))}")
            }
            // Blocked intervals: a slice from waitBegin to waitEnd (an open one runs to the end).
            for w in blocked[p.header.puid] ?? [] {
                let to = w.end?.time ?? endT
                out.append("{\"name\":\(JSONLines.quote(w.label)),\"cat\":\"blocked\",\"ph\":\"X\",\(head),\"ts\":\(ts(w.begin.time)),\"dur\":\(micro(to >= w.begin.time ? to - w.begin.time : 0)),\"cname\":\"grey\",\"args\":\(args(w.begin, ["\"ended\":\(w.end != nil)"]))}")
            }
            // A task that never ended (its worker died in it) runs to the death.
            for b in openTasks {
                let note = "\"unfinished\":\(JSONLines.quote(ending.summary))"
                out.append("{\"name\":\(JSONLines.quote(taskName(b))),\"cat\":\"task\",\"ph\":\"X\",\(head),\"ts\":\(ts(b.time)),\"dur\":\(micro(endT - b.time)),\"cname\":\"terrible\",\"args\":\(args(b, [note]))}")
            }
            if ending.isDeath {
                let at = ending.exact ? ending.time : endT - 1
                out.append("{\"name\":\"died\",\"cat\":\"death\",\"ph\":\"X\",\(head),\"ts\":\(ts(at)),\"dur\":0,\"cname\":\"terrible\",\"args\":{\"how\":\(JSONLines.quote(ending.summary)),\"exact\":\(ending.exact)}}")
            }
            let holds = Self.holds(evs, until: endT)
            if !holds.isEmpty {
                out.append("{\"name\":\"thread_name\",\"ph\":\"M\",\(holdsHead),\"args\":{\"name\":\"holds\"}}")
                out.append("{\"name\":\"thread_sort_index\",\"ph\":\"M\",\(holdsHead),\"args\":{\"sort_index\":1}}")
                for h in holds {
                    out.append("{\"name\":\(JSONLines.quote(h.name)),\"cat\":\"hold\",\"ph\":\"X\",\(holdsHead),\"ts\":\(ts(h.from)),\"dur\":\(micro(h.to - h.from)),\"args\":{\"acquire_seq\":\(h.seq),\"released\":\(h.released)}}")
                }
            }
        }
        out += counters(trace, chromePid: chromePid, ts: ts)
        for (n, f) in trace.flows.enumerated() {
            guard let a = chromePid[f.from.puid], let b = chromePid[f.to.puid] else { continue }
            let name = JSONLines.quote(f.label)
            out.append("{\"name\":\(name),\"cat\":\"flow\",\"ph\":\"s\",\"id\":\(n + 1),\"pid\":\(a),\"tid\":\(a),\"ts\":\(ts(f.from.time)),\"bp\":\"e\"}")
            out.append("{\"name\":\(name),\"cat\":\"flow\",\"ph\":\"f\",\"id\":\(n + 1),\"pid\":\(b),\"tid\":\(b),\"ts\":\(ts(f.to.time)),\"bp\":\"e\"}")
        }
        let hostClocks = multiHost ? ",\"host_clocks\":" + (clocks?.json ?? "{\"aligned\":false,\"note\":\(JSONLines.quote(HostClocks.ownClocksNote))}") : ""
        return "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":\"forkline replay\",\"processes\":\(trace.processes.count),\"events\":\(trace.eventCount)\(hostClocks)},\"traceEvents\":[\n"
            + out.joined(separator: ",\n") + "\n]}\n"
    }

    /// The tid offset of a process's `holds` thread (lock and semaphore holds).
    static let holdsThread: Int64 = 1 << 40
    /// Frames shown per backtrace.
    static let maxFrames = 32

    /// `task 7` from a task event's `task` argument, else `task`.
    static func taskName(_ e: TraceEvent) -> String {
        e["task"]?.uint.map { "task \($0)" } ?? "task"
    }

    /// Nanoseconds as microseconds with three decimals: `1234.567`.
    static func micro(_ ns: UInt64) -> String {
        let whole = ns / 1000, frac = ns % 1000
        let f = String(frac)
        return "\(whole)." + String(repeating: "0", count: 3 - f.count) + f
    }
}
