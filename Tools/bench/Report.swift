/// One measured figure: Forkline's samples beside its peer's (and CPython's when measured).
struct Figure {
    var name: String
    var unit: String
    var ours: [Double]
    var peerName: String
    var peer: [Double]
    var python: [Double]? = nil
}

enum Stats {
    static func median(_ xs: [Double]) -> Double {
        let s = xs.sorted()
        guard !s.isEmpty else { return .nan }
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}

enum Report {
    static func fmt(_ x: Double) -> String {
        if x.isNaN { return "-" }
        let digits = x < 1 ? 3 : (x < 100 ? 2 : 1)
        var s = String(x)
        if let dot = s.firstIndex(of: ".") {
            let end = s.index(dot, offsetBy: digits + 1, limitedBy: s.endIndex) ?? s.endIndex
            s = String(s[..<end])
        }
        return s
    }

    static func table(_ figures: [Figure]) -> String {
        var lines = ["| figure | Forkline median (min-max) | peer | peer median | Forkline/peer | CPython median | Forkline's speed / CPython's |",
                     "|---|---|---|---|---|---|---|"]
        for f in figures {
            let m = Stats.median(f.ours), p = Stats.median(f.peer)
            let py = f.python.map(Stats.median) ?? .nan
            // Above 1 when Forkline is faster, whether the unit is a time or a rate.
            let speedup = f.unit.hasSuffix("/s") ? m / py : py / m
            lines.append("| \(f.name) | \(fmt(m)) \(f.unit) (\(fmt(f.ours.min() ?? .nan))-\(fmt(f.ours.max() ?? .nan))) | \(f.peerName) | \(fmt(p)) \(f.unit) | \(fmt(m / p))x | \(py.isNaN ? "-" : fmt(py) + " " + f.unit) | \(py.isNaN ? "-" : fmt(speedup) + "x") |")
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ figures: [Figure]) -> String {
        let items = figures.map { f in
            let py = f.python.map { "\(Stats.median($0))" } ?? "null"
            return "{\"name\":\"\(f.name)\",\"unit\":\"\(f.unit)\",\"median\":\(Stats.median(f.ours)),\"min\":\(f.ours.min() ?? 0),\"max\":\(f.ours.max() ?? 0),\"peer\":\"\(f.peerName)\",\"peer_median\":\(Stats.median(f.peer)),\"python_median\":\(py)}"
        }
        return "[" + items.joined(separator: ",") + "]"
    }
}
