import ForklineTraceFormat

extension CheckReport {
    /// `{"ok": bool, "processes": N, "events": N, "violations": [{"rule", "message", "pids",
    /// "events": [{"pid", "puid", "seq", "kind", "time_ns"}]}], "notes": [...]}` for
    /// `replay check --json`.
    public func json() -> String {
        let items = violations.map { v in
            let evs = v.events.map { "{\"pid\":\($0.pid),\"puid\":\"\(hex16($0.puid))\",\"seq\":\($0.seq),\"kind\":\"\($0.kind.name)\",\"time_ns\":\($0.time)}" }
            let pids = v.pids.map(String.init).joined(separator: ",")
            return "{\"rule\":\"\(v.rule.rawValue)\",\"message\":\(JSONLines.quote(v.message)),\"pids\":[\(pids)],\"events\":[\(evs.joined(separator: ","))]}"
        }
        let notes = notes.map(JSONLines.quote).joined(separator: ",")
        return "{\"ok\":\(ok),\"processes\":\(processes),\"events\":\(events),\"violations\":[\(items.joined(separator: ","))],\"notes\":[\(notes)]}"
    }
}

extension CheckReport {
    /// The human-readable report of `replay check`: a verdict line, then each violation with its
    /// rule, message, pids, and events (kind, sequence number, pid, puid, time), then the notes.
    public func text() -> String {
        var out: String
        if ok {
            out = "OK: \(processes) processes, \(events) events; invariants 1-6 hold (starts, order, joins, messages, holds, pool tasks)."
        } else {
            out = "FAILED: \(violations.count) violation(s) in \(processes) processes, \(events) events\n"
            out += violations.map { "- \($0)" }.joined(separator: "\n")
        }
        for n in notes { out += "\nnote: \(n)" }
        return out
    }

    /// Each crash in `trace` with its backtrace symbolised from the process's modules (or the
    /// note that none was captured).
    public static func crashReport(_ trace: Trace) -> String {
        let sym = Symbolizer()
        var out = ""
        for p in trace.processes {
            for e in p.events where e.kind == .crash {
                out += "crash: pid \(p.header.pid) \(p.name) received \(signalName(e.signalNumber ?? 0))\n"
                guard let bt = e["backtrace"]?.backtrace,
                      let frames = sym.symbolicate(bt, in: trace.modules(for: p), firstIsPC: true) else {
                    out += "    backtrace unavailable (libunwind could not be loaded)\n"
                    continue
                }
                for (i, f) in frames.prefix(24).enumerated() { out += "    \(i) \(f)\n" }
            }
        }
        return out
    }
}
