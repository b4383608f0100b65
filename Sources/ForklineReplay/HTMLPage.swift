import ForklineTraceFormat

/// One self-contained HTML page with the trace's timeline: `replay html TRACE -o timeline.html`.
///
/// No network: the CSS, the script and the data are inline. The page draws one lane per process
/// on a canvas with level of detail (at most one mark per pixel column per lane, flows merged per
/// pixel when zoomed out), so a 100k-event trace loads and zooms quickly. Each lane says how its
/// process ended (``ProcessEnding``) and ends in a death mark when a signal ended it; pool tasks
/// are bars (an unfinished one runs to the death). A legend explains the colours; the time axis
/// stays in view with round tick values; drag to zoom into a region, Ctrl + wheel or the buttons
/// to zoom, wheel or the arrows to pan; hover a mark for its details. The `check` verdict's
/// links select the violating events. When the script has drawn the page it sets the title to
/// `Forkline timeline: ...` and adds `<div id="forkline-ready">`; a script error shows in
/// `<div id="forkline-error">`. With `#bench` in the URL the page zooms and pans itself and
/// writes its timings into the ready marker (`data-load-ms`, `data-max-step-ms`). With several
/// hosts the timeline puts them on one clock (``HostClocks``) and `<section id="clocks">` says
/// which offsets it applied.
public enum HTMLPage {
    /// Renders the page for `trace`, with `report` (by default, `check(trace)`) as its verdict.
    public static func render(_ recorded: Trace, report: CheckReport? = nil, title: String = "Forkline timeline", alignClocks: Bool = true) -> String {
        // The verdict comes from the trace as recorded (the checker never looks at clocks); the
        // drawing from the trace with every host on one clock.
        let report = report ?? check(recorded)
        let (trace, clocks) = recorded.forViews(align: alignClocks)
        let t0 = trace.timeSpan?.lowerBound ?? 0
        func rel(_ t: UInt64) -> UInt64 { t >= t0 ? t - t0 : 0 }
        let endings = trace.endings
        var index: [EventID: Int] = [:]
        var kinds: [String] = [], kindIndex: [String: Int] = [:]
        var lanes: [String] = [], tasks: [String] = []
        var L: [String] = [], T: [String] = [], K: [String] = [], S: [String] = [], V: [String] = []
        let blocked = Dictionary(grouping: trace.blockedIntervals(), by: \.puid)
        // Several hosts: lanes host by host, each labelled with its host.
        let multiHost = trace.isMultiHost
        for (lane, pi) in trace.hostOrder.enumerated() {
            let p = trace.processes[pi]
            let evs = p.events.filter { $0.kind != .modules }
            let ending = endings[pi]
            let first = evs.map(\.time).min() ?? t0, last = max(evs.map(\.time).max() ?? t0, ending.time)
            let observed = ending.observedBy.map { "; seen by \($0.kind.name) #\($0.seq) in pid \($0.pid) at +\(formatNs(rel($0.time)))" } ?? ""
            let host = multiHost ? trace.hostLabel(p.header.host) + ": " : ""
            lanes.append("{\"label\":\(q("\(host)\(p.header.pid) \(p.name) [\(trace.role(of: p))]")),\"a\":\(rel(first)),\"b\":\(rel(last)),"
                + "\"end\":\(q(ending.summary)),\"endDetail\":\(q(ending.summary + observed)),\"death\":\(ending.isDeath),\"exact\":\(ending.exact)}")
            var open: [TraceEvent] = []
            for e in evs {
                if index[e.id] == nil { index[e.id] = L.count }
                let k: Int
                if let i = kindIndex[e.kind.name] { k = i } else { k = kinds.count; kindIndex[e.kind.name] = k; kinds.append(e.kind.name) }
                L.append(String(lane)); T.append(String(rel(e.time))); K.append(String(k)); S.append(String(e.seq))
                V.append(q(EventText.arguments(e).map { "\($0.name) = \($0.value)" }.joined(separator: "\n")))
                if e.kind == .taskBegin { open.append(e) }
                if e.kind == .taskEnd, let b = open.popLast() {
                    tasks.append("{\"l\":\(lane),\"a\":\(rel(b.time)),\"b\":\(rel(e.time)),\"n\":\(q(ChromeTrace.taskName(b))),\"open\":false}")
                }
            }
            // Blocked intervals are bars of their own colour (an open one runs to the lane's end).
            for w in blocked[p.header.puid] ?? [] {
                tasks.append("{\"l\":\(lane),\"a\":\(rel(w.begin.time)),\"b\":\(rel(w.end?.time ?? last)),\"n\":\(q(w.label)),\"open\":false,\"blocked\":true}")
            }
            for b in open {
                tasks.append("{\"l\":\(lane),\"a\":\(rel(b.time)),\"b\":\(rel(last)),\"n\":\(q(ChromeTrace.taskName(b))),\"open\":true,\"why\":\(q(ending.summary))}")
            }
        }
        var FA: [String] = [], FB: [String] = [], FL: [String] = []
        var flowLabels: [String] = [], flowIndex: [String: Int] = [:]
        for f in trace.flows {
            guard let a = index[f.from.id], let b = index[f.to.id] else { continue }
            let l: Int
            if let i = flowIndex[f.label] { l = i } else { l = flowLabels.count; flowIndex[f.label] = l; flowLabels.append(f.label) }
            FA.append(String(a)); FB.append(String(b)); FL.append(String(l))
        }
        let violations = report.violations.map { v in
            "{\"rule\":\(q(v.ruleID)),\"message\":\(q(v.message)),\"events\":[\(v.eventIDs.compactMap { index[$0].map(String.init) }.joined(separator: ","))]}"
        }
        let span = trace.timeSpan.map { $0.upperBound - $0.lowerBound } ?? 0
        func list(_ a: [String]) -> String { "[" + a.joined(separator: ",") + "]" }
        let data = "{\"title\":\(q(title)),\"span\":\(span),\"eventCount\":\(trace.eventCount),\"deathColor\":\(q(ProcessEnding.deathColor)),"
            + "\"lanes\":\(list(lanes)),\"tasks\":\(list(tasks)),\"kinds\":\(list(kinds.map(q))),"
            + "\"ev\":{\"l\":\(list(L)),\"t\":\(list(T)),\"k\":\(list(K)),\"s\":\(list(S)),\"v\":\(list(V))},"
            + "\"flows\":{\"a\":\(list(FA)),\"b\":\(list(FB)),\"l\":\(list(FL))},\"flowLabels\":\(list(flowLabels.map(q))),"
            + "\"ok\":\(report.ok),\"summary\":\(q(report.text().split(separator: "\n").first.map(String.init) ?? "")),"
            + "\"violations\":[\(violations.joined(separator: ","))],\"notes\":[\(report.notes.map(q).joined(separator: ","))]}"
        // "<" only occurs inside the data's strings, where \u003c reads back the same, so nothing in
        // it can end the script element ("</script>") or open a comment.
        return """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title)) (loading)</title>
        <style>\(HTMLAssets.css)</style></head>
        <body>
        <header><h1>\(escape(title))</h1>
        <span class="controls"><button id="zoom-in" title="zoom in (Ctrl + wheel)">+</button><button id="zoom-out">&minus;</button><button id="zoom-fit">fit</button><button id="pan-left" title="pan (wheel)">&larr;</button><button id="pan-right">&rarr;</button></span>
        <span id="span"></span><span class="hint">drag across the timeline to zoom into a region</span></header>
        <section id="verdict"></section>
        \(multiHost ? "<section id=\"clocks\">Clocks: " + escape(clocks?.summary ?? HostClocks.ownClocksNote) + "</section>" : "")
        <section id="legend"></section>
        <div id="view"><div id="axis-row"><div class="corner">time</div><canvas id="axis"></canvas></div><div id="lanes-scroll"><div id="labels"></div><div id="plot"><canvas id="timeline"></canvas><div id="brush" hidden></div></div></div></div>
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
