@testable import ForklinePool
import Testing

/// One dispatch that hands tasks to several workers at once: its sends (one a worker, in the
/// order each worker was first given a task, each worker's tasks in the order handed out), and
/// the reuse of its working arrays between calls (``DispatchScratch``) changing none of that.
@Suite("Pool scheduler: one dispatch to several workers")
struct SchedulerDispatchTests {
    func started(_ config: Scheduler.Config) -> Scheduler {
        var s = Scheduler(config)
        _ = s.start()
        for w in s.workerIDs { _ = s.ready(w, now: 0) }
        return s
    }

    @Test("queued tasks dispatched at once interleave over the workers and arrive as one send a worker, in order")
    func interleavedBatches() {
        var s = started(.init(workers: 3, window: 3))
        for t in 1...8 { #expect(s.submit(UInt64(t), size: 8, now: 0, dispatching: false).isEmpty) }
        #expect(s.dispatch(now: 1) == [.send(1, [1, 4, 7], attempts: [0, 0, 0]),
                                       .send(2, [2, 5, 8], attempts: [0, 0, 0]),
                                       .send(3, [3, 6], attempts: [0, 0])])
        #expect(s.outstanding(1) == [1, 4, 7] && s.outstanding(2) == [2, 5, 8] && s.outstanding(3) == [3, 6])
        // The next dispatch (its arrays reused) starts from nothing left of the last one.
        for t in 9...10 { #expect(s.submit(UInt64(t), size: 8, now: 2, dispatching: false).isEmpty) }
        #expect(s.dispatch(now: 2) == [.send(3, [9], attempts: [0])])
        #expect(s.finished(2, 2, now: 3, dispatching: false) == [.deliverReply(2)])
        #expect(s.finished(1, 1, now: 3, dispatching: false) == [.deliverReply(1)])
        // Worker 2 was freed first but both hold two: the first in `ids` order with the least.
        #expect(s.dispatch(now: 4) == [.send(1, [10], attempts: [0])])
        #expect(s.queuedTasks == 0)
    }

    @Test("a worker first given a task later in the dispatch sends after the one given one first")
    func sendOrderFollowsFirstPick() {
        var s = started(.init(workers: 2, window: 4))
        // Worker 1 holds two, so worker 2 takes the first two queued tasks before worker 1 is next.
        for t in 1...2 { _ = s.submit(UInt64(t), size: 8, now: 0, dispatching: false) }
        #expect(s.dispatch(now: 0) == [.send(1, [1], attempts: [0]), .send(2, [2], attempts: [0])])
        _ = s.submit(3, size: 8, now: 0, dispatching: false)
        #expect(s.dispatch(now: 0) == [.send(1, [3], attempts: [0])])
        for t in 4...7 { _ = s.submit(UInt64(t), size: 8, now: 0, dispatching: false) }
        #expect(s.dispatch(now: 0) == [.send(2, [4, 6], attempts: [0, 0]), .send(1, [5, 7], attempts: [0, 0])])
    }
}
