import Dispatch
import Foundation
@testable import ForklineReplay
import ForklineTrace
import Testing

@Suite("check on a killed program's trace: every rule linear")
struct KilledTraceTests {
    @Test("a SIGKILLed pool's trace with 80,000 queued tasks is checked in linear time (a generous bound: 120 s)")
    func killedPoolIsLinear() throws {
        // 100k submitted, 20k delivered, 80k queued when the kill came: ~180k events. A rule
        // that scans the owner's events once per undelivered task took minutes here.
        let trace = SyntheticTraces.killedPool(tasks: 100_000, done: 20_000)
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var report: CheckReport?
        Thread.detachNewThread {
            report = trace.check()
            done.signal()
        }
        let finished = done.wait(timeout: .now() + 120) == .success
        #expect(finished, "check did not finish in 120 s: some rule is not linear")
        guard finished, let report else { return }
        // The workers were never joined: their parent was killed too (a violation, reported once each).
        #expect(report.violations.map(\.rule) == [.missingJoin, .missingJoin], "\(report.violations.prefix(3))")
        #expect(report.notes.contains { $0.contains("80000 task(s) undelivered") }, "\(report.notes)")
    }
}
