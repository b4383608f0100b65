import ForklineTrace

/// A terminal timeline: one lane per process, time across, a mark per event.
public struct Timeline: Sendable {
    /// Characters for each kind.
    static func glyph(_ k: EventKind) -> Character {
        switch k {
        case .start: "S"
        case .fork: "F"
        case .exit: "X"
        case .crash: "!"
        case .join: "J"
        case .terminate: "T"
        case .kill: "K"
        case .request: "R"
        case .mark: "*"
        case .startFailed: "?"
        case .traceCut: "#"
        case .modules: "·"
        }
    }

    public var width: Int
    public var pids: Set<Int32>?

    public init(width: Int = 100, pids: Set<Int32>? = nil) {
        self.width = max(40, width)
        self.pids = pids
    }

    /// Renders the trace as plain text.
    public func render(_ trace: Trace) -> String {
        let procs = trace.processes.filter { pids == nil || pids!.contains($0.header.pid) }
        let events = procs.flatMap(\.events).filter { $0.kind != .modules }
        guard let t0 = events.map(\.time).min(), let t1 = events.map(\.time).max() else { return "(no events)\n" }
        let labels = procs.map { "\($0.header.pid) \($0.name) [\($0.method?.description ?? "?")]" }
        let labelWidth = min(32, (labels.map(\.count).max() ?? 10) + 1)
        let lane = max(10, width - labelWidth - 2)
        let span = max(1, t1 - t0)
        func col(_ t: UInt64) -> Int { Int(Double(t - t0) / Double(span) * Double(lane - 1)) }
        var out = pad("time", labelWidth) + "| 0" + String(repeating: " ", count: max(0, lane - 2 - formatNs(span).count)) + formatNs(span) + "\n"
        for (p, label) in zip(procs, labels) {
            var row = [Character](repeating: " ", count: lane)
            let evs = p.events.filter { $0.kind != .modules }
            if let a = evs.first?.time, let b = evs.last?.time {
                for c in col(a)...col(b) { row[c] = "-" }
            }
            for e in evs { row[col(e.time)] = Self.glyph(e.kind) }
            out += pad(label, labelWidth) + "|" + String(row) + "\n"
        }
        out += "\nS start  F fork  R request  X exit  ! crash  J join  T terminate  K kill  * mark  ? start failed  # trace cut\n"
        return out
    }

    func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? String(s.prefix(n - 1)) + " " : s + String(repeating: " ", count: n - s.count)
    }
}

/// "1.25 ms" style durations.
public func formatNs(_ ns: UInt64) -> String {
    let d = Double(ns)
    if d >= 1e9 { return fixed(d / 1e9) + " s" }
    if d >= 1e6 { return fixed(d / 1e6) + " ms" }
    if d >= 1e3 { return fixed(d / 1e3) + " us" }
    return "\(ns) ns"
}

func fixed(_ x: Double) -> String {
    let r = (x * 100).rounded() / 100
    return "\(r)"
}
