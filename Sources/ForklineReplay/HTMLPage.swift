import ForklineTrace

/// One self-contained HTML page with the trace's timeline: `replay html TRACE -o timeline.html`.
///
/// No network: the CSS, the script and the data are inline. The page draws one lane per process
/// in SVG (zoom with the buttons or Ctrl + wheel, scroll sideways), a mark per event with its
/// details on hover, an arrow per causal edge (fork, message, lock hand-off, request, join, and
/// any edge of a newer kind), and the `check` verdict with links that select the violating
/// events. When the script has drawn the page it sets the title to `Forkline timeline: ...` and
/// adds `<div id="forkline-ready">`; a script error shows in `<div id="forkline-error">`.
public enum HTMLPage {
    /// Renders the page for `trace`, with `report` (by default, `check(trace)`) as its verdict.
    public static func render(_ trace: Trace, report: CheckReport? = nil, title: String = "Forkline timeline") -> String {
        let report = report ?? check(trace)
        let t0 = trace.timeSpan?.lowerBound ?? 0
        var index: [EventID: Int] = [:]
        var events: [String] = [], lanes: [String] = []
        for (li, p) in trace.processes.enumerated() {
            let evs = p.events.filter { $0.kind != .modules }
            let first = evs.map(\.time).min() ?? t0, last = evs.map(\.time).max() ?? t0
            lanes.append("{\"label\":\(q("\(p.header.pid) \(p.name) [\(trace.role(of: p))]")),\"a\":\(first - min(first, t0)),\"b\":\(last - min(last, t0))}")
            for e in evs {
                if index[e.id] == nil { index[e.id] = events.count }
                let detail = "\(e.kind.name) #\(e.seq) in pid \(e.pid) \(p.name) at +\(formatNs(e.time &- t0))\n" + EventText.arguments(e).map { "\($0.name) = \($0.value)" }.joined(separator: "\n")
                events.append("{\"l\":\(li),\"t\":\(e.time >= t0 ? e.time - t0 : 0),\"k\":\(q(e.kind.name)),\"g\":\(q(String(Timeline.glyph(e.kind)))),\"d\":\(q(detail))}")
            }
        }
        let flows = trace.flows.compactMap { f -> String? in
            guard let a = index[f.from.id], let b = index[f.to.id] else { return nil }
            return "{\"a\":\(a),\"b\":\(b),\"l\":\(q(f.label))}"
        }
        let violations = report.violations.map { v in
            "{\"rule\":\(q(v.ruleID)),\"message\":\(q(v.message)),\"events\":[\(v.eventIDs.compactMap { index[$0].map(String.init) }.joined(separator: ","))]}"
        }
        let span = trace.timeSpan.map { $0.upperBound - $0.lowerBound } ?? 0
        // `count` is every event, as `check` and `stats` count them; `events` leaves out the
        // `modules` records, which are not drawn.
        let data = "{\"title\":\(q(title)),\"span\":\(span),\"count\":\(trace.eventCount),\"lanes\":[\(lanes.joined(separator: ","))],\"events\":[\(events.joined(separator: ",\n"))],"
            + "\"flows\":[\(flows.joined(separator: ","))],\"ok\":\(report.ok),\"summary\":\(q(report.text().split(separator: "\n").first.map(String.init) ?? "")),"
            + "\"violations\":[\(violations.joined(separator: ","))],\"notes\":[\(report.notes.map(q).joined(separator: ","))]}"
        // "<" only occurs inside the data's strings, where \u003c reads back the same, so nothing in
        // it can end the script element ("</script>") or open a comment.
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) (loading)</title>
        <style>\(HTMLAssets.css)</style></head>
        <body>
        <header><h1>\(escape(title))</h1>
        <span class="controls"><button id="zoom-in" title="zoom in (Ctrl + wheel)">+</button><button id="zoom-out">&minus;</button><button id="zoom-fit">fit</button></span>
        <span id="span"></span></header>
        <section id="verdict"></section>
        <div id="view"><div id="labels"></div><div id="scroller"><svg id="timeline" xmlns="http://www.w3.org/2000/svg"></svg></div></div>
        <pre id="details">Hover over an event for its details.</pre>
        <script type="application/json" id="trace-data">\(escapeLessThan(data))</script>
        <script>\(HTMLAssets.script)</script>
        </body></html>

        """
    }

    static func q(_ s: String) -> String { JSONLines.quote(s) }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "&": out += "&amp;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// `s` with every `<` written as the JSON escape `\u003c` (byte by byte: the data is large).
func escapeLessThan(_ s: String) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count + 256)
    let escaped = Array("\\u003c".utf8)
    for b in s.utf8 {
        if b == UInt8(ascii: "<") { out += escaped } else { out.append(b) }
    }
    return String(decoding: out, as: UTF8.self)
}
