import CForkline
import ForklineTrace

extension PoolDriver {
    /// A call's tasks arrived: their submission times, for the latency of each.
    func observeSubmit(_ s: CallSubmission, now: UInt64) {
        guard let observer, !s.payloads.isEmpty else { return }
        for i in s.payloads.indices { submittedAt[s.firstTask + UInt64(i)] = now }
        observer.pool(pool, .submitted(firstTask: s.firstTask, count: s.payloads.count))
    }

    /// Task `task` is being delivered to its caller with `outcome`: its room in `maxPending` is
    /// given back, and the observer told.
    func delivered(_ task: UInt64, _ outcome: PoolEvent.Outcome) {
        if admission.limit != nil { admission.release(1) }
        guard let observer else { return }
        let now = fl_monotonic_ns()
        let since = submittedAt.removeValue(forKey: task) ?? now
        observer.pool(pool, .taskEnded(task: task, latencyNs: now >= since ? now - since : 0, outcome))
    }

    /// The outcome an observer is told for a task that failed without a reply.
    func outcome(of failure: Scheduler.Failure) -> PoolEvent.Outcome {
        switch failure {
        case .workerDied(let w, let status): .workerDied(pid: departed[w]?.0.pid ?? 0, status)
        case .timedOut(let w): .timedOut(pid: departed[w]?.0.pid ?? 0)
        case .cancelled: .cancelled
        case .terminated: .terminated
        case .noWorkers: .noWorkers
        }
    }

    /// Tells the observer the load once per loop turn, when it changed.
    func observeLoad() {
        guard let observer else { return }
        let ids = scheduler.workerIDs
        let busy = ids.reduce(0) { $0 + (scheduler.outstanding($1).isEmpty ? 0 : 1) }
        let load = (pending: max(0, scheduler.unfinishedTasks - busy), busy: busy, workers: ids.count)
        guard load != lastLoad else { return }
        lastLoad = load
        observer.pool(pool, .load(pending: load.pending, busy: load.busy, workers: load.workers))
    }
}
