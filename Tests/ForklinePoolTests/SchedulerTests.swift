@testable import ForklinePool
import ForklineTrace
import Testing

/// The scheduler alone: no processes, no clocks; every test feeds it events and reads its actions.
@Suite("Pool scheduler (pure state machine)")
struct SchedulerTests {
    typealias A = Scheduler.Action

    /// A started scheduler whose workers are all ready.
    func started(_ config: Scheduler.Config) -> Scheduler {
        var s = Scheduler(config)
        let starts = s.start()
        #expect(starts.count == config.workers)
        for w in s.workerIDs { #expect(s.ready(w, now: 0).isEmpty) }
        return s
    }

    func sends(_ actions: [A]) -> [Scheduler.WorkerID: [Scheduler.TaskID]] {
        var out: [Scheduler.WorkerID: [Scheduler.TaskID]] = [:]
        for case .send(let w, let t, _) in actions { out[w, default: []] += t }
        return out
    }

    @Test("start asks for one worker per slot; tasks wait until a worker is ready")
    func startAndReady() {
        var s = Scheduler(.init(workers: 2))
        #expect(s.start() == [.startWorker(1), .startWorker(2)])
        #expect(s.submit(10, size: 8, now: 0).isEmpty)
        #expect(s.ready(2, now: 0) == [.send(2, [10], attempts: [0])])
    }

    @Test("tasks go to the least loaded ready worker, at most `window` each")
    func loadBalancing() {
        var s = started(.init(workers: 2, window: 2))
        var sent: [A] = []
        for t in 1...6 { sent += s.submit(UInt64(t), size: 8, now: 0) }
        let byWorker = sends(sent)
        #expect(byWorker[1] == [1, 3])
        #expect(byWorker[2] == [2, 4])
        #expect(s.queuedTasks == 2)
        // Worker 2 finishes its first task: it gets the next queued one.
        #expect(s.finished(2, 2, now: 1) == [.deliverReply(2), .send(2, [5], attempts: [0])])
    }

    @Test("short tasks are batched up to `window`; long tasks go one at a time (window from the measured duration)")
    func adaptiveWindow() {
        var s = started(.init(workers: 1, window: 64, initialWindow: 2, queuedWorkNs: 400_000))
        #expect(s.currentWindow == 2)
        for t in 1...200 { _ = s.submit(UInt64(t), size: 8, now: 0) }
        #expect(s.outstanding(1) == [1, 2])
        // 10 us tasks: 40 fit in 0.4 ms.
        _ = s.finished(1, 1, now: 10_000)
        #expect(s.currentWindow == 40)
        #expect(s.outstanding(1).count == 40)
        // 50 ms tasks: one at a time.
        var t: UInt64 = 10_000
        for _ in 0..<30 {
            t += 50_000_000
            _ = s.finished(1, s.outstanding(1)[0], now: t)
        }
        #expect(s.currentWindow == 1)
    }

    @Test("a worker holds a second task only while the payloads fit windowBytes")
    func windowBytes() {
        var s = started(.init(workers: 1, window: 4, windowBytes: 100))
        #expect(sends(s.submit(1, size: 80, now: 0)) == [1: [1]])
        #expect(s.submit(2, size: 80, now: 0).isEmpty)
        #expect(s.finished(1, 1, now: 0) == [.deliverReply(1), .send(1, [2], attempts: [0])])
    }

    @Test("a dying worker fails only its running task; its unbegun tasks are re-dispatched with attempt 1")
    func workerDies() {
        var s = started(.init(workers: 2, window: 3))
        var sent: [A] = []
        for t in 1...6 { sent += s.submit(UInt64(t), size: 8, now: 0) }
        #expect(sends(sent)[1] == [1, 3, 5])
        let actions = s.exited(1, status: .signaled(9), now: 5)
        #expect(actions.contains(.deliverFailure(1, .workerDied(1, .signaled(9)))))
        #expect(actions.contains(.startWorker(3)))
        #expect(actions.contains(.replaced(old: 1, new: 3, .died)))
        #expect(s.outstanding(1).isEmpty)
        #expect(s.queuedTasks == 2)  // 3 and 5, back at the front
        let next = s.ready(3, now: 6)
        #expect(next == [.send(3, [3, 5], attempts: [1, 1])])
        #expect(s.unfinishedTasks == 5)
    }

    @Test("a dead or timed-out worker's replacement is started before its task's failure is delivered (the fork precedes the caller's wake-up)")
    func replacementBeforeFailure() {
        var s = started(.init(workers: 1, window: 2))
        _ = s.submit(1, size: 8, timeout: 100, now: 0)
        _ = s.submit(2, size: 8, now: 0)
        #expect(s.tick(now: 100) == [.killWorker(1)])
        #expect(s.exited(1, status: .signaled(9), now: 110) == [.startWorker(2), .replaced(old: 1, new: 2, .timedOut), .deliverFailure(1, .timedOut(1))])
        _ = s.ready(2, now: 120)
        #expect(s.exited(2, status: .signaled(11), now: 130) == [.startWorker(3), .replaced(old: 2, new: 3, .died), .deliverFailure(2, .workerDied(2, .signaled(11)))])
    }

    @Test("a worker whose connection ended gets no task while its exit status is awaited; the task goes to its replacement, first attempt")
    func endedWorkerGetsNoTask() {
        var s = started(.init(workers: 1, window: 2))
        s.connectionEnded(1)
        #expect(s.submit(5, size: 8, now: 0).isEmpty)
        #expect(s.tick(now: 1_000_000).isEmpty)
        #expect(s.exited(1, status: .exited(0), now: 1) == [.startWorker(2), .replaced(old: 1, new: 2, .died)])
        #expect(s.ready(2, now: 2) == [.send(2, [5], attempts: [0])])
    }

    @Test("a worker whose connection ended is not killed for the timeout of the task it was running: its end is on its way")
    func endedWorkerNotKilled() {
        var s = started(.init(workers: 1, window: 1))
        _ = s.submit(1, size: 8, timeout: 100, now: 0)
        s.connectionEnded(1)
        #expect(s.nextDeadline == nil)
        #expect(s.tick(now: 200).isEmpty)
        #expect(s.exited(1, status: .signaled(11), now: 300).last == .deliverFailure(1, .workerDied(1, .signaled(11))))
    }

    @Test("a worker told to stop before it was ready is not told again when it becomes ready")
    func stopOnce() {
        var s = started(.init(workers: 1, maxTasksPerChild: 1, window: 1))
        _ = s.submit(1, size: 8, now: 0)
        #expect(s.finished(1, 1, now: 0) == [.deliverReply(1), .stopWorker(1)])
        #expect(s.exited(1, status: .exited(0), now: 0) == [.startWorker(2), .replaced(old: 1, new: 2, .maxTasksPerChild)])
        #expect(s.close() == [.stopWorker(2)])
        #expect(s.ready(2, now: 0).isEmpty)
        #expect(s.exited(2, status: .exited(0), now: 0) == [.finished])
    }

    @Test("maxTasksPerChild: a worker is stopped after its quota and replaced when it exits")
    func maxTasksPerChild() {
        var s = started(.init(workers: 1, maxTasksPerChild: 2, window: 4))
        var sent: [A] = []
        for t in 1...3 { sent += s.submit(UInt64(t), size: 8, now: 0) }
        #expect(sends(sent) == [1: [1, 2]])
        #expect(s.finished(1, 1, now: 0) == [.deliverReply(1)])
        #expect(s.finished(1, 2, now: 0) == [.deliverReply(2), .stopWorker(1)])
        #expect(s.exited(1, status: .exited(0), now: 0) == [.startWorker(2), .replaced(old: 1, new: 2, .maxTasksPerChild)])
        #expect(s.ready(2, now: 0) == [.send(2, [3], attempts: [0])])
    }

    @Test("a task past its timeout has its worker killed, then fails as timed out")
    func timeout() {
        var s = started(.init(workers: 1, window: 2))
        _ = s.submit(1, size: 8, timeout: 100, now: 0)
        _ = s.submit(2, size: 8, timeout: 100, now: 0)
        #expect(s.nextDeadline == 100)
        #expect(s.tick(now: 50).isEmpty)
        #expect(s.tick(now: 100) == [.killWorker(1)])
        #expect(s.tick(now: 200).isEmpty)  // killed once
        let a = s.exited(1, status: .signaled(9), now: 210)
        #expect(a.contains(.deliverFailure(1, .timedOut(1))))
        #expect(a.contains(.replaced(old: 1, new: 2, .timedOut)))
        // Task 2 never began: it goes to the new worker, its clock starting there.
        #expect(s.ready(2, now: 300) == [.send(2, [2], attempts: [1])])
        #expect(s.nextDeadline == 400)
    }

    @Test("the timeout of a queued-behind task counts from when its predecessor finished")
    func timeoutCountsFromHead() {
        var s = started(.init(workers: 1, window: 2))
        _ = s.submit(1, size: 8, timeout: 100, now: 0)
        _ = s.submit(2, size: 8, timeout: 100, now: 0)
        _ = s.finished(1, 1, now: 90)
        #expect(s.tick(now: 150).isEmpty)
        #expect(s.tick(now: 190) == [.killWorker(1)])
    }

    @Test("close lets every task finish, then stops the workers and finishes once they exit")
    func closeDrains() {
        var s = started(.init(workers: 2, window: 1))
        _ = s.submit(1, size: 8, now: 0)
        _ = s.submit(2, size: 8, now: 0)
        _ = s.submit(3, size: 8, now: 0)
        #expect(s.close().isEmpty)
        #expect(s.finished(1, 1, now: 0) == [.deliverReply(1), .send(1, [3], attempts: [0])])
        #expect(s.finished(2, 2, now: 0).contains(.stopWorker(2)))
        #expect(s.finished(1, 3, now: 0).contains(.stopWorker(1)))
        #expect(s.exited(2, status: .exited(0), now: 0).isEmpty)
        #expect(s.exited(1, status: .exited(0), now: 0) == [.finished])
        #expect(s.phase == .finished)
    }

    @Test("a worker crash while closing is still replaced while work remains")
    func crashWhileClosing() {
        var s = started(.init(workers: 1, window: 1))
        _ = s.submit(1, size: 8, now: 0)
        _ = s.submit(2, size: 8, now: 0)
        _ = s.close()
        let a = s.exited(1, status: .signaled(11), now: 0)
        #expect(a.contains(.deliverFailure(1, .workerDied(1, .signaled(11)))))
        #expect(a.contains(.startWorker(2)))
        #expect(s.ready(2, now: 0) == [.send(2, [2], attempts: [0])])
        #expect(s.finished(2, 2, now: 0) == [.deliverReply(2), .stopWorker(2)])
        #expect(s.exited(2, status: .exited(0), now: 0) == [.finished])
    }

    @Test("terminate fails every undelivered task once and kills every worker")
    func terminate() {
        var s = started(.init(workers: 2, window: 1))
        for t in 1...4 { _ = s.submit(UInt64(t), size: 8, now: 0) }
        let a = s.terminate()
        let failed = a.compactMap { if case .deliverFailure(let t, .terminated) = $0 { t } else { nil } }
        #expect(failed.sorted() == [1, 2, 3, 4])
        #expect(a.filter { if case .killWorker = $0 { true } else { false } }.count == 2)
        #expect(s.exited(1, status: .signaled(9), now: 0).isEmpty)
        #expect(s.exited(2, status: .signaled(9), now: 0) == [.finished])
        #expect(s.submit(9, size: 1, now: 0) == [.deliverFailure(9, .terminated)])
    }

    @Test("workers that keep dying before they are ready break the pool instead of looping")
    func startFailures() {
        var s = Scheduler(.init(workers: 1, maxStartFailures: 3))
        _ = s.start()
        _ = s.submit(1, size: 8, now: 0)
        #expect(s.exited(1, status: .exited(70), startError: "no entry", now: 0) == [.startWorker(2), .replaced(old: 1, new: 2, .startFailed)])
        _ = s.exited(2, status: .exited(70), now: 0)
        let a = s.exited(3, status: .exited(70), now: 0)
        #expect(a.contains(.deliverFailure(1, .noWorkers("no entry"))))
        #expect(s.isBroken)
        #expect(s.submit(2, size: 8, now: 0) == [.deliverFailure(2, .noWorkers("no entry"))])
    }

    @Test("cancelling fails queued tasks at once and posts dispatched ones to their worker to drop; their replies are delivered")
    func cancel() {
        var s = started(.init(workers: 1, window: 1))
        _ = s.submit(1, size: 8, now: 0)
        _ = s.submit(2, size: 8, now: 0)
        #expect(s.cancel([1, 2]) == [.dropHeld(1, 1), .deliverFailure(2, .cancelled)])
        #expect(s.finished(1, 1, now: 0) == [.deliverReply(1)])
        #expect(s.unfinishedTasks == 0)
    }

    @Test("chaos: random deaths never lose or duplicate a task", arguments: [1, 2, 3, 4, 5])
    func chaos(seed: UInt64) {
        var rng = SplitMix(seed: seed)
        var s = started(.init(workers: 3, maxTasksPerChild: 7, window: 3))
        var delivered: [Scheduler.TaskID: Int] = [:]
        var pending: [A] = []
        func apply(_ actions: [A]) {
            for a in actions {
                switch a {
                case .deliverReply(let t), .deliverFailure(let t, _): delivered[t, default: 0] += 1
                case .startWorker(let w): pending.append(.startWorker(w))
                case .stopWorker(let w), .killWorker(let w): pending.append(.killWorker(w))
                default: break
                }
            }
        }
        for t in 1...500 { apply(s.submit(UInt64(t), size: 8, now: 0)) }
        apply(s.close())
        var steps = 0
        while s.phase != .finished && steps < 100_000 {
            steps += 1
            let ids = s.workerIDs
            guard !ids.isEmpty else { break }
            let w = ids[Int(rng.next() % UInt64(ids.count))]
            if let i = pending.firstIndex(of: .startWorker(w)) {
                pending.remove(at: i)
                apply(s.ready(w, now: 0))
            } else if let i = pending.firstIndex(of: .killWorker(w)) {
                pending.remove(at: i)
                apply(s.exited(w, status: .exited(0), now: 0))
            } else if let head = s.outstanding(w).first {
                if rng.next() % 10 == 0 { apply(s.exited(w, status: .signaled(9), now: 0)) } else { apply(s.finished(w, head, now: 0)) }
            }
        }
        #expect(s.phase == .finished)
        #expect(delivered.count == 500)
        #expect(delivered.values.allSatisfy { $0 == 1 })
    }
}

/// A small deterministic generator for the chaos test.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
