import ForklineTraceFormat

/// What the views say about the hosts' clocks: the `clocks:` note and its JSON form.
extension HostClocks {
    /// The reference host's name.
    public var referenceName: String { hosts.first { $0.host == reference }?.name ?? "?" }

    /// One item per host but the reference, for the views: `beta +3.0 s (±35.0 us, 2 links)`,
    /// `delta: no causal link, its own clock`.
    public var items: [String] {
        hosts.filter { $0.basis != .reference }.map { h in
            switch h.basis {
            case .unlinked:
                return h.links == 0 ? "\(h.name): no causal link, its own clock" : "\(h.name): not linked to \(referenceName), its own clock"
            case .bounded:
                return "\(h.name) \(Self.signed(h.offset)) (±\(formatNs(h.slack ?? 0)), \(h.links) link\(h.links == 1 ? "" : "s"))"
            case .lowerBoundOnly:
                return "\(h.name) \(Self.signed(h.offset)) (at least \(Self.signed(h.lowest ?? 0)), \(h.links) link\(h.links == 1 ? "" : "s"))"
            case .upperBoundOnly:
                return "\(h.name) \(Self.signed(h.offset)) (at most \(Self.signed(h.highest ?? 0)), \(h.links) link\(h.links == 1 ? "" : "s"))"
            case .contradicted:
                return "\(h.name) \(Self.signed(h.offset)) (links contradict, \(h.links) link\(h.links == 1 ? "" : "s"))"
            case .reference:
                return h.name
            }
        }
    }

    /// The note the views print: which clock they use and the offset applied to each host.
    public var summary: String {
        heading + ": " + items.joined(separator: ", ") + (conflict.map { "; " + $0 } ?? "")
    }

    /// The note's first part: `hosts put on alpha's clock by 4 cross-host causal links (...)`.
    public var heading: String {
        "hosts put on \(referenceName)'s clock by \(links) cross-host causal link\(links == 1 ? "" : "s") (offset added to each host's times)"
    }

    /// The offsets as one JSON object (the Perfetto export's `otherData.host_clocks`, `stats
    /// --json`'s `host_clocks`): `reference`, `links`, per host name `offsets_ns`, `slack_ns`
    /// (null when not bounded on both sides) and `basis`, the `note` the views print, and
    /// `conflict` when the links contradict each other.
    public var json: String {
        func object(_ pairs: [(String, String)]) -> String {
            "{" + pairs.map { "\(JSONLines.quote($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        }
        var fields: [(String, String)] = [
            ("aligned", "true"), ("reference", JSONLines.quote(referenceName)), ("links", "\(links)"),
            ("offsets_ns", object(hosts.map { ($0.name, "\($0.offset)") })),
            ("slack_ns", object(hosts.map { ($0.name, $0.basis == .reference ? "0" : $0.slack.map { "\($0)" } ?? "null") })),
            ("basis", object(hosts.map { ($0.name, JSONLines.quote($0.basis.rawValue)) })),
            ("note", JSONLines.quote(summary)),
        ]
        if let conflict { fields.append(("conflict", JSONLines.quote(conflict))) }
        return object(fields)
    }

    /// What the views say when told to draw each host on its own clock.
    static let ownClocksNote = "each host drawn on its own clock (--own-clocks): offsets between hosts shift their lanes, and a message may be drawn received before it was sent"

    /// `+3.0 s`, `-7.0 s`, `+0 ns`: a signed duration, to three decimals.
    static func signed(_ ns: Int64) -> String {
        let a = ns.magnitude
        let (scale, unit): (Double, String) = a >= 1_000_000_000 ? (1e9, "s") : a >= 1_000_000 ? (1e6, "ms") : a >= 1_000 ? (1e3, "us") : (1, "ns")
        let v = (Double(a) / scale * 1000).rounded() / 1000
        return (ns < 0 ? "-" : "+") + (scale == 1 ? "\(a)" : "\(v)") + " " + unit
    }
}
