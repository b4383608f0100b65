import ForklineTrace

/// What happened in a pool, as its driver thread saw it: the hook `ForklineService` turns into
/// swift-log events and swift-metrics figures (so `ForklinePool` itself depends on neither).
package enum PoolEvent: Sendable, Hashable {
    /// How a task ended.
    package enum Outcome: Sendable, Hashable {
        /// Its worker replied (values, or the errors its function threw).
        case replied
        /// Its worker died while running it, with this status (nil: unknown).
        case workerDied(pid: Int32, ExitStatus?)
        /// It ran past its timeout; its worker was killed.
        case timedOut(pid: Int32)
        /// Its caller cancelled it.
        case cancelled
        /// The pool was terminated first.
        case terminated
        /// No worker could start.
        case noWorkers
    }

    /// A worker finished starting (its initializer ran) and takes tasks.
    case workerStarted(pid: Int32)
    /// Worker `oldPid` left (`status`, nil when unknown) and a new one is starting in its place.
    case workerReplaced(oldPid: Int32, status: ExitStatus?, reason: Scheduler.ReplaceReason)
    /// `count` tasks (chunks) were submitted, the first with id `firstTask`.
    case submitted(firstTask: UInt64, count: Int)
    /// A task was delivered to its caller `latencyNs` after it was submitted.
    case taskEnded(task: UInt64, latencyNs: UInt64, Outcome)
    /// The pool's load changed: tasks submitted and not yet begun (`pending`), workers running a
    /// task (`busy`), workers alive (`workers`).
    case load(pending: Int, busy: Int, workers: Int)
}

/// Receives a pool's events, on the pool's driver thread: it must return quickly and never call
/// back into the pool.
package protocol PoolObserver: Sendable {
    func pool(_ id: UInt64, _ event: PoolEvent)
}
