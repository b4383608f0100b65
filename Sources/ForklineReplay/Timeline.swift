import ForklineTraceFormat

/// A terminal timeline: one lane per process (labelled with pid, name and role), a time axis,
/// a mark per event, `:` where a causal edge (fork, message, lock hand-off, join) crosses the
/// lanes between its two ends, and a crash's symbolised backtrace under its lane.
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
        case "waitBegin", "waitEnd": "="
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
        case ">", "<", "L", "U", ":": "\u{1B}[2m"
        case "=": "\u{1B}[33m"
        default: nil
        }
    }

    /// Total width in columns (at least 40).
    public var width: Int
    /// Only these pids, or all when nil.
    public var pids: Set<Int32>?
    /// Colour the marks with ANSI escapes (for a terminal; plain text otherwise).
    public var color: Bool
    /// The start of the time window, in ns after the trace's first event (nil: from the start).
    public var from: UInt64?
    /// The end of the time window, in ns after the trace's first event (nil: to the end).
    public var to: UInt64?
    /// Print each crash's symbolised backtrace under its lane (at most this many frames; 0: none).
    public var backtraceFrames: Int
    /// Put every host on the first host's clock, aligned by the trace's cross-host causal links
    /// (``HostClocks``); false draws each host on its own clock.
    public var alignClocks: Bool

    /// A timeline `width` columns wide, of `pids` (all when nil), over `from`...`to` (ns after
    /// the first event).
    public init(width: Int = 100, pids: Set<Int32>? = nil, color: Bool = false, from: UInt64? = nil, to: UInt64? = nil,
                backtraceFrames: Int = 8, alignClocks: Bool = true) {
        self.width = max(40, width)
        self.pids = pids
        self.color = color
        self.from = from
        self.to = to
        self.backtraceFrames = backtraceFrames
        self.alignClocks = alignClocks
    }

    /// Every mark with its meaning, in legend order.
    static let legendEntries: [(Character, String)] = [
        ("S", "start"), ("F", "fork"), ("R", "request"), ("X", "exit"), ("!", "crash or killed"), ("J", "join"),
        ("T", "terminate"), ("K", "kill"), ("*", "mark"), ("?", "start failed"), ("#", "trace cut"), (">", "send"),
        ("<", "recv"), ("o", "channel open"), ("c", "channel close"), ("L", "lock"), ("U", "unlock"), ("P", "semaphore acquire"),
        ("V", "semaphore release"), ("b", "barrier arrive"), ("B", "barrier pass"), ("%", "barrier broken"), ("E", "event set"),
        ("e", "event wait"), ("N", "condition notify"), ("W", "condition wait"), ("·", "other"), ("-", "alive"),
        ("=", "blocked (waiting)"),
        (":", "hand-off across lanes"),
    ]

    /// The legend for the marks in `used` (only those: a legend of absent marks is noise).
    static func legend(for used: Set<Character>) -> String {
        legendEntries.filter { used.contains($0.0) }.map { "\($0.0) \($0.1)" }.joined(separator: "  ")
    }

    /// Which mark wins a column several events share: ends and starts over hand-offs over the rest.
    static func rank(_ c: Character) -> Int {
        switch c {
        case "!", "?", "#": 5
        case "X", "S": 4
        case "F", "R", "J", "K", "T": 3
        case "·", "-", " ", ":", "=": 0
        default: 1
        }
    }

    /// Renders the trace (for several hosts, on one clock unless ``alignClocks`` is false, with
    /// a `clocks:` note saying which offsets were applied).
    public func render(_ recorded: Trace) -> String {
        let (trace, clocks) = recorded.forViews(align: alignClocks)
        guard let all = trace.timeSpan else { return "(no events)\n" }
        let t0 = all.lowerBound &+ (from ?? 0)
        let t1 = min(all.upperBound, to.map { all.lowerBound &+ $0 } ?? all.upperBound)
        guard t0 <= t1 else { return "(no events in the window)\n" }
        let procs = trace.groupedByHost(trace.processes.filter { pids?.contains($0.header.pid) ?? true })
        let labels = procs.map { "\($0.header.pid) \($0.name) [\(trace.role(of: $0))]" }
        // Up to 48 columns (a remote worker's "PID PoolWorker-3 (remote, flnode2) [worker]"),
        // never more than half a narrow width, never under 32.
        let labelWidth = min(max(32, min(48, width / 2)), (labels.map(\.count).max() ?? 10) + 1)
        let lane = max(10, width - labelWidth - 2)
        let span = max(1, t1 - t0)
        func col(_ t: UInt64) -> Int {
            let c = Int(Double(t &- t0) / Double(span) * Double(lane - 1))
            return min(max(c, 0), lane - 1)
        }
        func inWindow(_ t: UInt64) -> Bool { t >= t0 && t <= t1 }
        var out = !trace.isMultiHost ? "" : clocks.map { note("clocks: " + $0.heading + ":", $0.items + ($0.conflict.map { [$0] } ?? [])) }
            ?? note("clocks: " + HostClocks.ownClocksNote, [])
        out += axis(labelWidth: labelWidth, lane: lane, start: t0 - all.lowerBound, span: span)
        var rows: [[Character]] = []
        // Columns drawn in the death colour: a join that saw a signal (as crashes and kills are).
        var deathColumns: [Set<Int>] = []
        var dense: [String?] = []
        var laneOf: [UInt64: Int] = [:]
        let endings = trace.endings
        let procIndex = Dictionary(trace.processes.enumerated().map { ($1.header.puid, $0) }, uniquingKeysWith: { a, _ in a })
        let blocked = Dictionary(grouping: trace.blockedIntervals(), by: \.puid)
        for (i, p) in procs.enumerated() {
            if laneOf[p.header.puid] == nil { laneOf[p.header.puid] = i }
            var row = [Character](repeating: " ", count: lane)
            let evs = p.events.filter { $0.kind != .modules }
            let ending = procIndex[p.header.puid].map { endings[$0] }
            // The lane runs from the earliest event to the end (a damaged file may be unsorted;
            // a killed process's end is seen after its last event).
            if let a = evs.map(\.time).min(), let last = evs.map(\.time).max() {
                let b = max(last, ending?.time ?? last)
                if a <= t1, b >= t0 { for c in col(max(a, t0))...col(min(b, t1)) { row[c] = "-" } }
                // Blocked stretches: `=` from the wait's begin to its end (an open one to the lane's end).
                for w in blocked[p.header.puid] ?? [] {
                    let wa = w.begin.time, wb = max(wa, w.end?.time ?? b)
                    if wa <= t1, wb >= t0 { for c in col(max(wa, t0))...col(min(wb, t1)) where row[c] == "-" { row[c] = "=" } }
                }
            }
            var perColumn = [Int](repeating: 0, count: lane)
            var rowRank = [Int](repeating: 0, count: lane), red: Set<Int> = []
            for e in evs where inWindow(e.time) {
                let c = col(e.time), g = Self.glyph(e.kind)
                perColumn[c] += 1
                // A join that saw a signal ranks with the deaths: it must not hide under a fork.
                var sawDeath = false
                if e.kind == .join, case .signaled = e.observedStatus { sawDeath = true }
                let r = sawDeath ? 5 : Self.rank(g)
                if r >= rowRank[c] {
                    row[c] = g
                    rowRank[c] = r
                    if sawDeath { red.insert(c) } else { red.remove(c) }
                }
            }
            if let ending, case .killed = ending.kind, inWindow(ending.time) { row[col(ending.time)] = "!" }
            let crowded = perColumn.filter { $0 > 1 }
            // Said when three or more events are hidden under others.
            dense.append(crowded.reduce(0, +) - crowded.count < 3 ? nil : "\(crowded.reduce(0, +)) events share \(crowded.count) column(s), up to \(crowded.max() ?? 0) in one: narrow with --from/--to")
            rows.append(row)
            deathColumns.append(red)
        }
        // Causal edges between shown lanes: a `:` in the live lanes they cross, at the effect's time.
        for f in trace.flows where inWindow(f.to.time) {
            guard let a = laneOf[f.from.puid], let b = laneOf[f.to.puid], abs(a - b) > 1 else { continue }
            let c = col(f.to.time)
            for l in (min(a, b) + 1)..<max(a, b) where rows[l][c] == "-" { rows[l][c] = ":" }
        }
        let symbolizer = Symbolizer()
        for (i, p) in procs.enumerated() {
            if trace.isMultiHost, i == 0 || procs[i - 1].header.host != p.header.host {
                out += String("host \(trace.hostLabel(p.header.host)):".prefix(width)) + "\n"
            }
            out += pad(labels[i], labelWidth) + "|" + paint(rows[i], death: deathColumns[i]) + "\n"
            let ending = procIndex[p.header.puid].map { endings[$0] }
            if let ending, inWindow(ending.time) {
                switch ending.kind {
                case .killed: out += endLine("!", p, ending, trace, t0: all.lowerBound, indent: labelWidth)
                case .exited(let code) where code != 0: out += endLine("X", p, ending, trace, t0: all.lowerBound, indent: labelWidth)
                default: break
                }
            }
            for w in blocked[p.header.puid] ?? [] where w.end == nil && inWindow(w.begin.time) {
                out += String(String(repeating: " ", count: min(labelWidth, 8)) + "= " + w.label).prefix(width) + "\n"
            }
            if let d = dense[i] { out += String(String(repeating: " ", count: min(labelWidth, 8)) + "(dense: \(d))").prefix(width) + "\n" }
            guard backtraceFrames > 0 else { continue }
            for e in p.events where e.kind == .crash && inWindow(e.time) {
                out += crashLines(e, p, trace, symbolizer, indent: labelWidth)
            }
        }
        let used = Set(rows.joined()).subtracting([" "])
        out += "\n" + wrapped(Self.legend(for: used)) + "\n"
        return out
    }

    /// A note over the timeline: `heading`, then `items` separated by commas, in lines of at
    /// most `width` columns, each after the first indented; an item breaks at spaces only when
    /// it is longer than a line.
    func note(_ heading: String, _ items: [String]) -> String {
        var lines: [String] = [], line = ""
        func put(_ piece: String, separator: String) {
            if line.isEmpty { line = lines.isEmpty ? piece : "  " + piece; return }
            if line.count + separator.count + piece.count <= width { line += separator + piece; return }
            lines.append(line + separator.trimmingCharacters(in: " "))
            line = "  " + piece
        }
        func words(_ text: String, separator: String) {
            if text.count + 2 <= width { put(text, separator: separator); return }
            for (i, w) in text.split(separator: " ").enumerated() { put(String(w), separator: i == 0 ? separator : " ") }
        }
        words(heading, separator: "")
        for (i, item) in items.enumerated() { words(item, separator: i == 0 ? " " : ", ") }
        return (lines + [line]).map { String($0.prefix(width)) + "\n" }.joined()
    }

    /// The legend's entries packed into lines of at most `width` columns.
    func wrapped(_ legend: String) -> String {
        var lines: [String] = [], line = ""
        for item in legend.split(separator: "  ") {
            if !line.isEmpty, line.count + 2 + item.count > width { lines.append(line); line = "" }
            line += (line.isEmpty ? "" : "  ") + item
        }
        return (lines + [line]).joined(separator: "\n")
    }

    /// The time axis: tick labels over a `+---+---` ruler, five ticks across the lane.
    func axis(labelWidth: Int, lane: Int, start: UInt64, span: UInt64) -> String {
        var labels = [Character](repeating: " ", count: lane)
        var ruler = [Character](repeating: "-", count: lane)
        let ticks = 4
        for k in 0...ticks {
            let c = k == ticks ? lane - 1 : k * (lane - 1) / ticks
            ruler[c] = "+"
            let text = Array(formatNs(start + span / UInt64(ticks) * UInt64(k)))
            let at = k == ticks ? max(0, lane - text.count) : (k == 0 ? 0 : max(0, c - text.count / 2))
            // Skip a label that would overwrite the previous one.
            if at > 0, labels[..<min(lane, at + text.count)].suffix(text.count + 1).contains(where: { $0 != " " }) { continue }
            for (j, ch) in text.enumerated() where at + j < lane { labels[at + j] = ch }
        }
        return pad("time", labelWidth) + "|" + String(labels) + "\n" + String(repeating: " ", count: labelWidth + 1) + String(ruler) + "\n"
    }

    /// A kill's or a failed exit's line under its lane: how it ended and what saw it.
    func endLine(_ mark: Character, _ p: ProcessTrace, _ ending: ProcessEnding, _ trace: Trace, t0: UInt64, indent: Int) -> String {
        let pad = String(repeating: " ", count: min(indent, 8))
        var line = "\(pad)\(mark) pid \(p.header.pid) \(p.name): \(ending.summary)"
        if !ending.exact, let o = ending.observedBy {
            line += "; seen by \(o.kind.name) in pid \(o.pid) at +\(formatNs(o.time &- t0))"
        }
        return String(line.prefix(width)) + "\n"
    }

    /// A crash's signal and first frames, indented under its lane, cut to the width.
    func crashLines(_ e: TraceEvent, _ p: ProcessTrace, _ trace: Trace, _ sym: Symbolizer, indent: Int) -> String {
        let pad = String(repeating: " ", count: min(indent, 8))
        var lines = ["\(pad)! pid \(p.header.pid) \(p.name): \(signalName(e.signalNumber ?? 0)) at 0x\(String(e["address"]?.uint ?? 0, radix: 16))"]
        if let bt = e["backtrace"]?.backtrace, let frames = sym.symbolicate(bt, in: trace.modules(for: p), firstIsPC: true) {
            for (i, f) in frames.prefix(backtraceFrames).enumerated() { lines.append("\(pad)    \(i) \(f)") }
            if frames.count > backtraceFrames { lines.append("\(pad)    ... \(frames.count - backtraceFrames) more (replay check prints them all)") }
        } else {
            lines.append("\(pad)    backtrace unavailable")
        }
        return lines.map { String($0.prefix(width)) + "\n" }.joined()
    }

    func paint(_ row: [Character], death: Set<Int> = []) -> String {
        guard color else { return String(row) }
        var s = ""
        for (i, c) in row.enumerated() {
            if let code = death.contains(i) ? Self.color("!") : Self.color(c) { s += code + String(c) + "\u{1B}[0m" } else { s.append(c) }
        }
        return s
    }

    func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? String(s.prefix(n - 1)) + " " : s + String(repeating: " ", count: n - s.count)
    }

    /// Parses a duration: `250` (ns), `250ns`, `1.5us`, `2ms`, `0.3s`.
    public static func parseDuration(_ text: String) -> UInt64? {
        let t = text.trimmingCharacters(in: " ")
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v >= 0, v * scale < 1.8e19 else { return nil }
            return UInt64(v * scale)
        }
        guard let v = Double(t), v >= 0, v < 1.8e19 else { return nil }
        return UInt64(v)
    }
}

extension String {
    func trimmingCharacters(in c: Character) -> String {
        String(drop { $0 == c }.reversed().drop { $0 == c }.reversed())
    }
}

/// "1.25 ms" style durations.
package func formatNs(_ ns: UInt64) -> String {
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
