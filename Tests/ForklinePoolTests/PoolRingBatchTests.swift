@testable import ForklinePool
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// A worker's batch of large tasks travels through its task ring, split into records the ring
/// takes, not as one message over the connection (which cost the driver a copy into a fresh
/// buffer and a socket write, and the worker a read, per batch: the profile of 256 KiB tasks).
@Suite("Pool: large batches through the task ring")
struct PoolRingBatchTests {
    @Test("four 256 KiB tasks, two a worker, reach their workers in ring records, none larger than the ring takes; the trace checks",
          arguments: ["fork", "spawn"])
    func largeBatch(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["codec-pool-bytes", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["bytes ok", "blob ok"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // The pool's process is the one that submitted; its sends are the workers' tasks.
        let pool = trace.processes.filter { $0.events.contains { $0.kind == .poolSubmit } }
        #expect(pool.count == 1)
        let sizes = pool.flatMap { $0.events.filter { $0.kind == .send } }.compactMap { $0["size"]?.uint }
        #expect(!sizes.isEmpty)
        #expect(sizes.allSatisfy { $0 + UInt64(TaskRing.recordHeader) <= UInt64(TaskRing.largest) },
                "the driver's messages: \(sizes)")
    }
}
