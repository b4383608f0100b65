@testable import ForklinePool
import ForklineTrace
import Testing

/// Cancelling tasks a worker holds, under each cancellation policy (the scheduler alone).
@Suite("Pool scheduler: cancelling running tasks")
struct SchedulerCancelTests {
    func started(killOnCancel: Bool, workers: Int = 1, window: Int = 2) -> Scheduler {
        var config = Scheduler.Config(workers: workers, window: window, initialWindow: window)
        config.killOnCancel = killOnCancel
        var s = Scheduler(config)
        _ = s.start()
        for w in s.workerIDs { _ = s.ready(w, now: 0) }
        return s
    }

    @Test("abandon: a cancelled task its worker holds is posted to the worker to drop; nothing is killed; its reply is delivered")
    func abandonKeepsWorker() {
        var s = started(killOnCancel: false)
        _ = s.submit(1, size: 8, now: 0)
        #expect(s.cancel([1]) == [.dropHeld(1, 1)])
        // Cancelling again posts nothing more.
        #expect(s.cancel([1]).isEmpty)
        // The reply (a value if the worker ran it, `dropped` if not) goes to the caller's call.
        #expect(s.finished(1, 1, now: 5) == [.deliverReply(1)])
    }

    @Test("abandon: tasks held behind the running one are posted to drop, the next caller's task is not")
    func abandonDropsPrefetched() {
        var s = started(killOnCancel: false, window: 3)
        _ = s.submit(1, size: 8, now: 0)
        _ = s.submit(2, size: 8, now: 0)
        _ = s.submit(3, size: 8, now: 0)
        #expect(s.cancel([1, 2]) == [.dropHeld(1, 1), .dropHeld(1, 2)])
        #expect(s.finished(1, 1, now: 5).first == .deliverReply(1))
        #expect(s.finished(1, 2, now: 6).first == .deliverReply(2))
        #expect(s.finished(1, 3, now: 7).first == .deliverReply(3))
    }

    @Test("kill: a cancelled running task kills its worker; it fails as cancelled and a new worker replaces it")
    func killRunning() {
        var s = started(killOnCancel: true)
        _ = s.submit(1, size: 8, now: 0)
        _ = s.submit(2, size: 8, now: 0)
        #expect(s.outstanding(1) == [1, 2])
        #expect(s.cancel([1]) == [.killWorker(1)])
        // A second cancel of the same task does not kill twice.
        #expect(s.cancel([1]).isEmpty)
        let exited = s.exited(1, status: .signaled(9), now: 10)
        #expect(exited.contains(.startWorker(2)))
        #expect(exited.contains(.replaced(old: 1, new: 2, .cancelled)))
        #expect(exited.last == .deliverFailure(1, .cancelled))
        // The task behind it was not cancelled: it is queued again for the new worker.
        #expect(s.ready(2, now: 11) == [.send(2, [2], attempts: [1])])
    }

    @Test("kill: a cancelled task held behind the running one kills the worker when it comes up, not before")
    func killWhenHeadBecomesCancelled() {
        var s = started(killOnCancel: true)
        _ = s.submit(1, size: 8, now: 0)
        _ = s.submit(2, size: 8, now: 0)
        #expect(s.cancel([2]).isEmpty)
        #expect(s.finished(1, 1, now: 5) == [.deliverReply(1), .killWorker(1)])
        let exited = s.exited(1, status: .signaled(9), now: 6)
        #expect(exited.last == .deliverFailure(2, .cancelled))
    }

    @Test("kill: cancelled tasks held behind a crashed task fail as cancelled instead of being retried")
    func cancelledHeldAreNotRetried() {
        var s = started(killOnCancel: true, window: 3)
        for t in 1...3 { _ = s.submit(UInt64(t), size: 8, now: 0) }
        _ = s.cancel([3])
        let exited = s.exited(1, status: .signaled(11), now: 6)
        #expect(exited.contains(.deliverFailure(3, .cancelled)))
        #expect(exited.last == .deliverFailure(1, .workerDied(1, .signaled(11))))
        #expect(s.ready(2, now: 7) == [.send(2, [2], attempts: [1])])
    }
}
