import ForklineTrace

/// A terminal timeline: one lane per process (labelled with pid, name and start method), time
/// across the width, a mark per event.
public struct Timeline: Sendable {
    /// The mark for each kind, by the kind's name (so kinds added later fall back to `·`).
    static func glyph(_ k: EventKind) -> Character {
        switch k.name {
        case "start": "S"
        case "fork": "F"
        case "exit": "X"
        case "crash": "!"
        case "join": "J"
        case "terminate": "T"
        case "kill": "K"
        case "request": "R"
        case "mark": "*"
        case "startFailed": "?"
        case "traceCut": "#"
        case "send": ">"
        case "recv": "<"
        case "channelOpen": "o"
        case "channelClose": "c"
        case "lockAcquire": "L"
        case "lockRelease": "U"
        case "rlockAcquire": "L"
        case "rlockRelease": "U"
        case "semAcquire": "P"
        case "semRelease": "V"
        case "barrierArrive": "b"
        case "barrierPass": "B"
        case "barrierBroken": "%"
        case "eventSet": "E"
        case "eventWait": "e"
        case "conditionNotify": "N"
        case "conditionWait": "W"
        default: "·"
        }
    }

    /// ANSI colour of a mark, for terminals.
    static func color(_ c: Character) -> String? {
        switch c {
        case "!", "?", "#": "\u{1B}[1;31m"
        case "X": "\u{1B}[32m"
        case "F", "R": "\u{1B}[33m"
        case "S": "\u{1B}[36m"
        case "J": "\u{1B}[34m"
        case "K", "T": "\u{1B}[35m"
        default: nil
        }
    }

    /// Total width in columns (at least 40).
    public var width: Int
    /// Only these pids, or all when nil.
    public var pids: Set<Int32>?
    /// Colour the marks with ANSI escapes (for a terminal; plain text otherwise).
    public var color: Bool

    /// A timeline `width` columns wide, of `pids` (all when nil).
    public init(width: Int = 100, pids: Set<Int32>? = nil, color: Bool = false) {
        self.width = max(40, width)
        self.pids = pids
        self.color = color
    }

    /// The legend printed under the lanes.
    public static let legend =
        "S start  F fork  R request  X exit  ! crash  J join  T terminate  K kill  * mark  ? start failed  # trace cut  > send  < recv"

    /// Renders the trace.
    public func render(_ trace: Trace) -> String {
        let procs = trace.processes.filter { pids?.contains($0.header.pid) ?? true }
        var t0 = UInt64.max, t1 = UInt64.min
        for p in procs {
            for e in p.events where e.kind != .modules {
                t0 = min(t0, e.time)
                t1 = max(t1, e.time)
            }
        }
        guard t0 <= t1 else { return "(no events)\n" }
        let labels = procs.map { "\($0.header.pid) \($0.name) [\($0.method?.description ?? "?")]" }
        let labelWidth = min(32, (labels.map(\.count).max() ?? 10) + 1)
        let lane = max(10, width - labelWidth - 2)
        let span = max(1, t1 - t0)
        func col(_ t: UInt64) -> Int {
            let c = Int(Double(t &- t0) / Double(span) * Double(lane - 1))
            return min(max(c, 0), lane - 1)
        }
        let spanText = formatNs(span)
        var out = pad("time", labelWidth) + "| 0" + String(repeating: " ", count: max(0, lane - 2 - spanText.count)) + spanText + "\n"
        for (p, label) in zip(procs, labels) {
            var row = [Character](repeating: " ", count: lane)
            let evs = p.events.filter { $0.kind != .modules }
            // The lane runs from the earliest to the latest event (a damaged file may be unsorted).
            if let a = evs.map(\.time).min(), let b = evs.map(\.time).max() {
                for c in col(a)...col(b) { row[c] = "-" }
            }
            for e in evs { row[col(e.time)] = Self.glyph(e.kind) }
            out += pad(label, labelWidth) + "|" + paint(row) + "\n"
        }
        out += "\n" + Self.legend + "\n"
        return out
    }

    func paint(_ row: [Character]) -> String {
        guard color else { return String(row) }
        var s = ""
        for c in row {
            if let code = Self.color(c) { s += code + String(c) + "\u{1B}[0m" } else { s.append(c) }
        }
        return s
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
