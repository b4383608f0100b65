import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("The recorder's own limits and races: tracing never hurts the program or loses later events")
struct TraceRecorderFaultTests {
    @Test("an event past the format's size limits leaves a visible record and nothing after it is lost")
    func oversizedEvents() throws {
        let dir = TestSupport.temporaryDirectory("forkline-limits")
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["trace-limits"],
                                      environment: [Tracer.environmentVariable: dir], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["done"])
        #expect(out.stderr.contains("over the trace format's limits"), "one warning: \(out.stderr)")
        let trace = try Trace.load(path: dir)
        let root = try #require(trace.processes.first { $0.header.pid == out.pid })
        #expect(root.damage.isEmpty, "\(root.damage)")
        let marks = root.events.filter { $0.kind == .mark }
        let labelSizes: [Int] = marks.map { $0["label"]?.string?.utf8.count ?? -1 }
        #expect(labelSizes == [65_535, 65_535, 65_535, 5])
        #expect(marks.last?["label"]?.string == "after", "the events after the oversized ones are kept")
        // The two requests that fit are whole; the two that do not are dropped, each named.
        let requests = root.events.filter { $0.kind == .request }
        let frameCounts: [Int] = requests.map { $0["backtrace"]?.backtrace?.frames?.count ?? -1 }
        #expect(frameCounts == [65_529, 65_530])
        let cut = root.events.filter { $0.kind == .eventTruncated }
        #expect(cut.count == 4, "two marks cut short, two requests dropped: \(cut)")
        let shortened = cut.filter { $0["recorded"]?.uint == 1 }
        let shortSizes: [UInt64?] = [2 + 65_536, 2 + 524_260]
        #expect(shortened.map { $0["needed"]?.uint } == shortSizes)
        let cutMarks: [UInt64] = marks[1...2].map(\.seq)
        #expect(shortened.compactMap { $0["seq"]?.uint } == cutMarks)
        let dropped = cut.filter { $0["recorded"]?.uint == 0 }
        let request = UInt64(EventKind.request.rawValue)
        let droppedKinds: [UInt64?] = [request, request]
        let droppedSizes: [UInt64?] = [12 + 8 * 65_532, 12 + 8 * 65_534]
        #expect(dropped.map { $0["kind"]?.uint } == droppedKinds)
        #expect(dropped.map { $0["needed"]?.uint } == droppedSizes)
        // `check` names each one; the program itself is correct.
        let report = trace.check()
        #expect(report.ok, "\(report.violations)")
        #expect(report.notes.filter { $0.contains("over the trace format's limits") }.count == 4, "\(report.notes)")
    }
}
