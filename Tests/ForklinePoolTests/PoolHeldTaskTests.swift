import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Light tasks are held two or more deep (the next one waits in the worker's ring behind the one
/// it runs): a worker killed while it holds one never loses it nor runs it twice. The fixture's
/// `taskring-held` and `taskring-callers` scenarios, checked by their traces.
@Suite("Pool: a task held behind a light one")
struct PoolHeldTaskTests {
    static let methods = ["fork", "spawn", "forkserver"]

    @Test("a worker killed running one task and holding the next: the running one fails, the held one runs on the replacement",
          arguments: methods)
    func heldTaskRuns(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["taskring-held", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["running workerDied", "held 25", "after 36"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // The held task was in the worker's ring, so it was dispatched again (attempt 1) to the
        // replacement; unless the load made the warm-up's measured task time exceed 0.4 ms, when
        // it waited in the pool's queue instead (attempt 0 only). Either way every task began
        // once at most, the retried one exactly once.
        let retried = trace.events(.poolDispatch).filter { $0["attempt"]?.uint == 1 }
        #expect(retried.count <= 1)
        var begun: [UInt64: Int] = [:]
        for e in trace.events(.taskBegin) { if let t = e["task"]?.uint { begun[t, default: 0] += 1 } }
        #expect(begun.values.allSatisfy { $0 == 1 }, "tasks begun twice: \(begun.filter { $0.value > 1 }.keys.sorted())")
        if let task = retried.first?["task"]?.uint { #expect(begun[task] == 1) }
    }

    @Test("16 callers of 0.2 ms tasks on 2 workers, 3 workers killed: every call ends once; no task begins twice; the trace checks",
          arguments: methods)
    func callersWithKills(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["taskring-callers", method, "1"], timeout: 180)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["accounted 640 of 640", "died<=3 true other 0"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        var begun: [UInt64: Int] = [:]
        for e in trace.events(.taskBegin) { if let t = e["task"]?.uint { begun[t, default: 0] += 1 } }
        #expect(begun.values.allSatisfy { $0 == 1 }, "tasks begun twice: \(begun.filter { $0.value > 1 }.keys.sorted())")
    }
}
