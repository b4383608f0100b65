import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// `apply` as a service calls it (issue 14 item 4): many concurrent async callers, each awaiting
/// its one task, resumed by the pool's driver thread itself. Checked by what the service fixture
/// prints and by its trace.
@Suite("Pool apply from concurrent async callers")
struct LightTaskTests {
    @Test("16 concurrent callers each get their own task's output; an apply cancelled while its task is queued throws at once and its task never runs")
    func concurrentApply() throws {
        let r = try PoolServiceTests().run(["light-tasks", "--callers", "16", "--per-caller", "20"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["callers 16 tasks 320 wrong 0", "queued CancellationError", "blockers [1500, 1500]", "after 49"])
        #expect(r.report.ok, "\(r.report.violations)")
        // 320 light tasks, 2 blockers, the cancelled one and the one after: each submitted once
        // and delivered once; the cancelled one never began in a worker.
        #expect(r.events(.poolSubmit).count == 324)
        #expect(r.events(.poolResult).count == 324)
        #expect(r.events(.taskBegin).count == 323)
    }
}
