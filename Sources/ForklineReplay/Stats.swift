import ForklineTrace

extension Trace {
    /// Counts for `replay stats`: processes, and events by kind.
    public func statsJSON() -> String {
        var counts: [String: Int] = [:]
        for e in allEvents { counts[e.kind.name, default: 0] += 1 }
        let kinds = counts.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",")
        let times = allEvents.map(\.time)
        let wall = (times.max() ?? 0) - (times.min() ?? 0)
        return "{\"processes\":\(processes.count),\"events\":{\(kinds)},\"total_events\":\(eventCount),\"wall_ns\":\(wall)}"
    }

    /// Human-readable stats: per process its lifetime and event count.
    public func statsText() -> String {
        var out = "\(processes.count) processes, \(eventCount) events\n"
        for p in processes {
            let life = (p.events.last?.time ?? 0) - (p.events.first?.time ?? 0)
            out += "  pid \(p.header.pid) \(p.name) [\(p.method?.description ?? "?")]: \(p.events.count) events, lifetime \(formatNs(life))"
            if let end = p.end { out += ", \(end.kind == .exit ? "exit(\(end["code"]?.int ?? 0))" : "crash(\(signalName(Int32(truncatingIfNeeded: end["signal"]?.int ?? 0))))")" }
            out += "\n"
        }
        return out
    }
}

extension CheckReport {
    /// `{"ok": bool, "violations": [...]}` for `replay check --json`.
    public func json() -> String {
        let items = violations.map { v in
            let evs = v.events.map { "{\"pid\":\($0.pid),\"puid\":\"\(hex16($0.puid))\",\"seq\":\($0.seq),\"kind\":\"\($0.kind.name)\",\"time_ns\":\($0.time)}" }
            return "{\"rule\":\"\(v.rule.rawValue)\",\"message\":\(JSONLines.quote(v.message)),\"events\":[\(evs.joined(separator: ","))]}"
        }
        return "{\"ok\":\(ok),\"processes\":\(processes),\"events\":\(events),\"violations\":[\(items.joined(separator: ","))]}"
    }
}
