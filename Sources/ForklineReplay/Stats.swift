import ForklineTrace

extension Trace {
    /// Counts for `replay stats`: processes, and events by kind.
    public func statsJSON() -> String {
        var counts: [String: Int] = [:]
        for p in processes { for e in p.events { counts[e.kind.name, default: 0] += 1 } }
        let kinds = counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        var lo = UInt64.max, hi = UInt64.min
        for p in processes { for e in p.events { lo = min(lo, e.time); hi = max(hi, e.time) } }
        let wall = lo <= hi ? hi - lo : 0
        return "{\"processes\":\(processes.count),\"events\":{\(kinds)},\"total_events\":\(eventCount),\"wall_ns\":\(wall)}"
    }

    /// Human-readable stats: per process its lifetime and event count.
    public func statsText() -> String {
        var out = "\(processes.count) processes, \(eventCount) events\n"
        for p in processes {
            let times = p.events.map(\.time)
            let life = (times.max() ?? 0) - (times.min() ?? 0)
            out += "  pid \(p.header.pid) \(p.name) [\(p.method?.description ?? "?")]: \(p.events.count) events, lifetime \(formatNs(life))"
            if let end = p.end { out += ", \(end.kind == .exit ? "exit(\(end.exitCode ?? 0))" : "crash(\(signalName(end.signalNumber ?? 0)))")" }
            out += "\n"
        }
        return out
    }
}
