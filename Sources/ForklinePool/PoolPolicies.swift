/// What a submission does when the pool already holds its `maxPending` unfinished tasks.
public enum PoolBackpressure: Sendable, Hashable {
    /// The async calls (`map`, `starmap`, `apply`) wait for room, in arrival order; the
    /// synchronous ones (`applyAsync`, `imap`, `imapUnordered`) cannot wait and throw
    /// ``PoolError`` `overloaded`.
    case wait
    /// Every call throws ``PoolError`` `overloaded` at once (a service answers 503).
    case `throw`
}

/// What happens to a task a worker already holds when the Swift task awaiting it is cancelled
/// (its client hung up). Tasks no worker took yet are always dropped.
public enum PoolCancellation: Sendable, Hashable {
    /// The caller gets `CancellationError` at once; the task runs to its end in its worker and
    /// its result is dropped.
    case abandon
    /// The caller gets `CancellationError` at once; the worker running the task is killed
    /// (SIGKILL) and a new one replaces it, so the next tasks do not wait for it. A cancelled
    /// task the worker holds behind the one it runs kills it when its turn comes.
    case killWorker
}
