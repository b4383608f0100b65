import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Trace chunks made ahead by the grower thread, across fork")
struct TraceGrowForkTests {
    /// A busy process's next trace chunk is made by a thread of its own (recorder.c, "the grower
    /// thread"). A fork child has no such thread and must not take or unmap the parent's: it
    /// writes its own file, with a grower of its own once it is busy.
    @Test("fork children started while the parent's next chunk is being made ahead each write a whole file of their own, and the trace checks")
    func forkWhileGrowing() throws {
        let (out, dir) = try TestSupport.runFixture(["trace-grow-fork", "fork", "50000"], timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["parent \(6 * 7_919 + 50_000) child 100000"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(trace.processes.count == 7)
        for process in trace.processes {
            #expect(process.damage.isEmpty, "\(process.header.pid): \(process.damage)")
            let labels = process.events.filter { $0.kind == .mark }.map { $0["label"]?.string }
            if process.header.pid == out.pid {
                #expect(labels.count == 6 * 7_919 + 50_000 && labels.allSatisfy { $0 == "parent" })
            } else {
                #expect(labels.count == 100_000 && labels.allSatisfy { $0 == "child" })
            }
            #expect(process.events.last?.kind == .exit, "\(process.header.pid) ends with its exit")
        }
    }
}
