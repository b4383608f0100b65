@testable import ForklinePool
import Testing

/// How deep a worker's queue is for light tasks (issue 14, the 16-caller service row): a task
/// shorter than `queuedWorkNs` has the next one waiting behind it in its worker's ring, so the
/// worker never waits for the driver's turnaround between the two; a longer one goes alone.
@Suite("Pool scheduler: a second task held behind a light one")
struct SchedulerDepthTests {
    typealias A = Scheduler.Action

    /// One ready worker whose first task took `ns`, with `queued` more tasks submitted.
    func measured(_ ns: UInt64, workers: Int = 1, queued: Int = 50) -> Scheduler {
        var s = Scheduler(.init(workers: workers, window: 64, initialWindow: 1, queuedWorkNs: 400_000))
        _ = s.start()
        for w in s.workerIDs { _ = s.ready(w, now: 0) }
        _ = s.submit(1, size: 8, now: 0)
        _ = s.finished(s.workerIDs[0], 1, now: ns)
        for t in 0..<UInt64(queued) { _ = s.submit(100 + t, size: 8, now: ns) }
        return s
    }

    @Test("tasks under queuedWorkNs (0.4 ms) are held two or more deep; tasks of 0.4 ms or more one at a time",
          arguments: [(250_000 as UInt64, 2), (160_000, 3), (399_000, 2), (400_000, 1), (1_000_000, 1), (10_000, 40)])
    func windowRoundsUp(ns: UInt64, window: Int) {
        let s = measured(ns)
        #expect(s.currentWindow == window)
        #expect(s.outstanding(1).count == window)
    }

    @Test("at depth 2, each reply sends the worker its next task at once: one runs, one waits behind it")
    func refillsEachReply() {
        var s = measured(250_000)
        #expect(s.outstanding(1) == [100, 101])
        var now: UInt64 = 250_000
        for k in 0..<10 {
            now += 250_000
            let head = UInt64(100 + k)
            #expect(s.finished(1, head, now: now) == [.deliverReply(head), .send(1, [head + 2], attempts: [0])])
            #expect(s.outstanding(1) == [head + 1, head + 2])
        }
    }

    @Test("a worker killed at depth 2: the task it ran fails, the one held behind it is queued again first (attempt 1) and goes to the other worker")
    func heldTaskRetried() throws {
        var s = measured(250_000, workers: 2, queued: 6)
        // Worker 1 measured task 1; worker 2 idle: the six queued tasks alternate between them.
        let held1 = s.outstanding(1), held2 = s.outstanding(2)
        try #require(held1.count == 2 && held2.count == 2)
        let actions = s.exited(1, status: .signaled(9), now: 300_000)
        #expect(actions.contains(.deliverFailure(held1[0], .workerDied(1, .signaled(9)))))
        #expect(!actions.contains { if case .deliverFailure(held1[1], _) = $0 { return true } else { return false } })
        // Worker 2 finishes its head: it takes the re-queued task before the never-dispatched ones.
        let next = s.finished(2, held2[0], now: 400_000)
        #expect(next.contains(.send(2, [held1[1]], attempts: [1])), "\(next)")
    }

    @Test("a worker whose head was never taken (still in its ring) loses neither task at depth 2: both are queued again")
    func untakenHeadRetried() throws {
        var s = measured(250_000, workers: 1, queued: 2)
        let held = s.outstanding(1)
        try #require(held == [100, 101])
        let actions = s.exited(1, status: .signaled(9), headTaken: false, now: 300_000)
        #expect(!actions.contains { if case .deliverFailure = $0 { return true } else { return false } }, "\(actions)")
        // The replacement (worker 2) gets both, in order, as retries.
        var sent = actions
        for case .startWorker(let w) in actions { sent += s.ready(w, now: 300_000) }
        #expect(sent.contains(.send(2, [100, 101], attempts: [1, 1])), "\(sent)")
    }
}
