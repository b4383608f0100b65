@testable import ForklinePool
import Testing

/// The driver resumes an `apply` caller only after it has given the workers their next tasks
/// (issue 14, the service's light tasks): resuming a caller wakes a thread of the caller's
/// executor, which on 2 CPUs can take the driver's CPU while the worker that just replied
/// sleeps, waiting for its next task. So the outcomes a loop turn reads are collected, traced
/// at once, and handed over at the end of the turn. (End to end, through real workers and the
/// trace: `LightTaskTests`, `SingleOutcomeTests`, `PoolTests`' apply.)
@Suite("Pool: apply outcomes handed over after the next tasks went out")
struct SingleHandOverTests {
    static func call(_ single: SingleOutcome) -> CallState {
        let (_, continuation) = AsyncStream<[(Int, ChunkOutcome)]>.makeStream()
        return CallState(pool: 1, call: 1, ordered: true, collect: false, starts: [0], continuation: continuation, single: single)
    }

    @Test("an outcome resolved while the driver collects reaches its caller only when handed over, in order")
    func collected() async {
        let first = SingleOutcome(), second = SingleOutcome()
        var handOver: [(CallState, ChunkOutcome)]? = []
        // The calls are not kept here: the driver drops its task's body (and so the call) once
        // resolved; the hand-over list must keep each call, or it abandons its caller first.
        Self.call(first).resolve(chunk: 0, task: 10, taskBase: 10, .reply(.valueWord(tag: ScalarChunks.intTag, bits: 5), 1), handOver: &handOver)
        Self.call(second).resolve(chunk: 0, task: 11, taskBase: 11, .failure(PoolError(.cancelled, "task 11: cancelled")), handOver: &handOver)
        #expect(handOver?.allSatisfy { $0.0.done } == true)
        #expect(handOver?.count == 2)
        #expect(handOver?.first.map { $0.0.single === first } == true)
        // Not finished yet: a forward now parks instead of running at once.
        let seen = Box()
        first.forward { o in seen.set(o) }
        #expect(seen.get() == nil)
        for (c, o) in handOver ?? [] { c.single?.finish(o) }
        guard case .reply(.valueWord(_, 5), 1)?? = seen.get() else {
            Issue.record("the first caller did not get its outcome when handed over")
            return
        }
        let outcome = await second.value(cancel: {})
        guard case .failure(let e)? = outcome else {
            Issue.record("the second caller did not get its failure")
            return
        }
        #expect(e.code == .cancelled)
    }

    @Test("without a collector an outcome reaches its caller at once, as before")
    func immediate() {
        let one = SingleOutcome()
        Self.call(one).resolve(chunk: 0, task: 3, taskBase: 3, .reply(.dropped, 1))
        let seen = Box()
        one.forward { o in seen.set(o) }
        guard case .reply(.dropped, 1)?? = seen.get() else {
            Issue.record("not finished at once")
            return
        }
    }
}

/// A value set from the closure a ``SingleOutcome`` forwards to (on this thread, here).
final class Box: @unchecked Sendable {
    // @unchecked: the tests set and read it on one thread (forward runs its closure in place).
    private var value: ChunkOutcome?? = nil
    func set(_ v: ChunkOutcome?) { value = .some(v) }
    func get() -> ChunkOutcome?? { value }
}
