import ForklineTrace

/// Chrome Trace Event JSON (the format Perfetto and chrome://tracing open): `replay export
/// --format chrome`.
///
/// One track per process (`process_name` metadata: `"NAME pid P [ROLE]"`, with `pid`, `name`,
/// `role` and `puid` in its args), a slice per process lifetime, a slice per pool task (a
/// `taskBegin` to the next `taskEnd` of the same process, matched by kind name), a zero-length
/// slice per other event (its arguments as args, by name, for every kind), and a flow (`ph` `s`
/// and `f` with one `id`) per cross-process causal edge: fork -> start, send -> recv, lock
/// release -> acquire, request -> fork, child end -> join. Times are microseconds from the
/// trace's first event, with nanosecond decimals.
public enum ChromeTrace {
    /// Renders `trace` as one JSON object `{"traceEvents": [...], "displayTimeUnit": "ns", ...}`.
    public static func export(_ trace: Trace) -> String {
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
        var out: [String] = []
        for (i, p) in trace.processes.enumerated() {
            guard let cp = chromePid[p.header.puid] else { continue }
            let role = trace.role(of: p)
            let head = "\"pid\":\(cp),\"tid\":\(cp)"
            let label = JSONLines.quote("\(p.name) pid \(p.header.pid) [\(role)]")
            out.append("{\"name\":\"process_name\",\"ph\":\"M\",\(head),\"args\":{\"name\":\(label),\"pid\":\(p.header.pid),\"name_in_trace\":\(JSONLines.quote(p.name)),\"role\":\"\(role)\",\"puid\":\"\(hex16(p.header.puid))\"}}")
            out.append("{\"name\":\"process_sort_index\",\"ph\":\"M\",\(head),\"args\":{\"sort_index\":\(i)}}")
            out.append("{\"name\":\"thread_name\",\"ph\":\"M\",\(head),\"args\":{\"name\":\(JSONLines.quote("pid \(p.header.pid)"))}}")
            let evs = p.events.filter { $0.kind != .modules }
            guard let first = evs.map(\.time).min(), let last = evs.map(\.time).max() else { continue }
            let endText = p.end.map { EventText.describe($0) } ?? "no exit recorded"
            out.append("{\"name\":\(JSONLines.quote(p.name)),\"cat\":\"process\",\"ph\":\"X\",\(head),\"ts\":\(ts(first)),\"dur\":\(micro(last - first + 1)),\"args\":{\"role\":\"\(role)\",\"end\":\(JSONLines.quote(endText))}}")
            var openTasks: [TraceEvent] = []
            for e in evs {
                switch e.kind.name {
                case "taskBegin":
                    openTasks.append(e)
                    continue
                case "taskEnd":
                    if let b = openTasks.popLast() {
                        let name = taskName(b)
                        out.append("{\"name\":\(JSONLines.quote(name)),\"cat\":\"task\",\"ph\":\"X\",\(head),\"ts\":\(ts(b.time)),\"dur\":\(micro(e.time >= b.time ? e.time - b.time : 0)),\"args\":\(args(b))}")
                        continue
                    }
                default: break
                }
                out.append("{\"name\":\"\(e.kind.name)\",\"cat\":\"event\",\"ph\":\"X\",\(head),\"ts\":\(ts(e.time)),\"dur\":0,\"args\":\(args(e))}")
            }
            // A task that never ended (its worker died in it) is still shown, as an event.
            for b in openTasks {
                out.append("{\"name\":\"\(b.kind.name)\",\"cat\":\"event\",\"ph\":\"X\",\(head),\"ts\":\(ts(b.time)),\"dur\":0,\"args\":\(args(b))}")
            }
        }
        for (n, f) in trace.flows.enumerated() {
            guard let a = chromePid[f.from.puid], let b = chromePid[f.to.puid] else { continue }
            let name = JSONLines.quote(f.label)
            out.append("{\"name\":\(name),\"cat\":\"flow\",\"ph\":\"s\",\"id\":\(n + 1),\"pid\":\(a),\"tid\":\(a),\"ts\":\(ts(f.from.time)),\"bp\":\"e\"}")
            out.append("{\"name\":\(name),\"cat\":\"flow\",\"ph\":\"f\",\"id\":\(n + 1),\"pid\":\(b),\"tid\":\(b),\"ts\":\(ts(f.to.time)),\"bp\":\"e\"}")
        }
        return "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"source\":\"forkline replay\",\"processes\":\(trace.processes.count),\"events\":\(trace.eventCount)},\"traceEvents\":[\n"
            + out.joined(separator: ",\n") + "\n]}\n"
    }

    /// `task 7` from a task event's first argument whose name contains "task", else `task`.
    static func taskName(_ e: TraceEvent) -> String {
        EventText.arguments(e).first { $0.name.lowercased().contains("task") }.map { "task \($0.value)" } ?? "task"
    }

    /// An event's arguments as a JSON object, plus its sequence number.
    static func args(_ e: TraceEvent) -> String {
        let items = EventText.arguments(e).map { "\(JSONLines.quote($0.name)):\(JSONLines.quote($0.value))" }
        return "{" + (["\"seq\":\(e.seq)"] + items).joined(separator: ",") + "}"
    }

    /// Nanoseconds as microseconds with three decimals: `1234.567`.
    static func micro(_ ns: UInt64) -> String {
        let whole = ns / 1000, frac = ns % 1000
        let f = String(frac)
        return "\(whole)." + String(repeating: "0", count: 3 - f.count) + f
    }
}
