import Foundation
import ForklineReplay
import ForklineTrace
import Testing

@Suite("Every view counts events the same way")
struct ViewCountTests {
    /// A root with its `modules` record (spawn and forkserver children and roots have one).
    static let trace: Trace = {
        let h = ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0)
        let events = [
            TraceEvent(kind: .start, pid: 1, puid: 1, seq: 0, time: 1,
                       args: [.uint(0), .int(0), .uint(0), .uint(0), .uint(255), .string("main"), .string("")]),
            TraceEvent(kind: .modules, pid: 1, puid: 1, seq: 1, time: 2,
                       args: [.modules([Module(start: 0x1000, end: 0x2000, offset: 0, path: "/bin/x")])]),
            TraceEvent(kind: .mark, pid: 1, puid: 1, seq: 2, time: 3, args: [.string("m")]),
            TraceEvent(kind: .exit, pid: 1, puid: 1, seq: 3, time: 4, args: [.int(0)]),
        ]
        return Trace(processes: [ProcessTrace(header: h, events: events)])
    }()

    @Test("the html page's event count is check's and stats' (modules records included)")
    func htmlCountsLikeCheck() throws {
        let report = Self.trace.check()
        #expect(report.events == 4)
        #expect(Self.trace.statsText().hasPrefix("1 processes, 4 events"))
        let page = HTMLPage.render(Self.trace, report: report)
        let start = try #require(page.range(of: "<script type=\"application/json\" id=\"trace-data\">"))
        let end = try #require(page.range(of: "</script>", range: start.upperBound..<page.endIndex))
        let json = try JSONSerialization.jsonObject(with: Data(page[start.upperBound..<end.lowerBound].utf8)) as? [String: Any]
        #expect(json?["eventCount"] as? Int == report.events, "the page states the count check states")
        #expect(page.contains("D.eventCount + ' events, '"), "and its header shows that count, not the drawn marks'")
    }
}
