import CForkline
import ForklineSpawn
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

extension PoolDriver {
    /// A worker whose connection ended, until its exit status is known.
    struct Ending {
        var handle: PoolDriver.WorkerHandle
        /// Readable once the process has ended (-1: none could be opened; polled each turn).
        var pidfd: Int32
        /// When it is SIGKILLed if it has not ended by then (ns).
        var deadline: UInt64
        var killed = false
    }

    /// How long a worker whose connection ended may take to exit before it is SIGKILLed.
    static let exitGraceNs: UInt64 = 10_000_000_000

    /// The worker's connection ended: it exited or is about to. The scheduler stops giving it
    /// tasks at once; its exit reaches the scheduler once it is reaped, which never blocks the
    /// driver (``reapEnding()``, from the poll loop: the worker's pidfd is in the poll set).
    func workerEnded(_ id: Scheduler.WorkerID) {
        // What it published before it ended counts: its first task left unanswered is then
        // exactly the one it was running.
        drainRing(id)
        guard let w = workers.removeValue(forKey: id) else { return }
        outbox[id] = nil
        pids.withLock { _ = $0.removeValue(forKey: id) }
        w.connection.close()
        // A worker asleep on its task ring wakes and finds its connection closed.
        w.tasks?.wake()
        scheduler.connectionEnded(id)
        // The pool's own child (fork, spawn) or the forkserver's: its pid stays its own until
        // it is reaped, and only this thread reaps workers.
        let pidfd = w.pid > 0 ? fl_pidfd_open(w.pid) : -1
        ending[id] = Ending(handle: w, pidfd: pidfd >= 0 ? pidfd : -1, deadline: fl_monotonic_ns() &+ PoolDriver.exitGraceNs)
        reap(id)
    }

    /// Reaps the ending workers that have ended (and SIGKILLs those past their grace): each
    /// one's exit goes to the scheduler. Never waits.
    func reapEnding() {
        for id in ending.keys.sorted() { reap(id) }
    }

    func reap(_ id: Scheduler.WorkerID) {
        guard var e = ending[id] else { return }
        var status: ExitStatus?
        var known = true
        do {
            status = try e.handle.child.join(timeout: .zero)
            known = status != nil
        } catch {
            status = nil  // not joinable: its status cannot be known
        }
        if !known {
            let now = fl_monotonic_ns()
            if now >= e.deadline && !e.killed {
                try? e.handle.child.kill()
                e.killed = true
            }
            ending[id] = e
            return
        }
        ending[id] = nil
        if e.pidfd >= 0 { _ = Glibc.close(e.pidfd) }
        departed[id] = (e.handle, status)
        // Replies it published after its connection ended count too (it lived on: a task closed
        // its descriptors): else the tasks it answered then would run again on its replacement.
        workers[id] = e.handle
        drainRing(id)
        workers[id] = nil
        // Its task ring tells whether it ever took the task it is blamed for (the process is gone).
        let head = scheduler.head(of: id)
        let headTaken = head.map { e.handle.tasks?.taken($0) ?? true } ?? true
        perform(scheduler.exited(id, status: status, startError: e.handle.startError, headTaken: headTaken, now: fl_monotonic_ns()))
        departed[id] = nil
    }

    /// How long the poll may sleep for the ending workers (ms; -1: as long as it likes): until
    /// the next grace deadline, and only briefly when one has no pidfd or its status lags its
    /// end (a forkserver worker's status comes from the server).
    func endingPollTimeout(_ lagging: Bool) -> Int32 {
        guard !ending.isEmpty else { return -1 }
        if lagging || ending.values.contains(where: { $0.pidfd < 0 }) { return 1 }
        let now = fl_monotonic_ns()
        guard let next = ending.values.filter({ !$0.killed }).map(\.deadline).min() else { return 50 }
        return next <= now ? 0 : Int32(min(UInt64(PoolDriver.longestPollMs), (next - now + 999_999) / 1_000_000))
    }
}
