import Synchronization

/// The outcome of a one-task call awaited in place (``Pool/apply(_:_:timeout:)``): the driver
/// thread resumes the caller with it directly, one hop onto the caller's executor. Read from a
/// stream by a task of its own (``PoolTask``), it cost a task to make and two hops: the driver
/// resumed that task, which then resumed the caller.
final class SingleOutcome: Sendable {
    enum State {
        case empty
        case waiting(CheckedContinuation<ChunkOutcome?, Never>)
        /// nil: the caller was cancelled first.
        case done(ChunkOutcome?)
        case taken
    }

    let state = Mutex<State>(.empty)

    /// Ends the wait with `outcome` (nil: the caller was cancelled), the first time only: the
    /// driver's outcome after a cancellation, or a second one, is dropped.
    func finish(_ outcome: ChunkOutcome?) {
        let waiter: CheckedContinuation<ChunkOutcome?, Never>? = state.withLock { s in
            switch s {
            case .empty:
                s = .done(outcome)
                return nil
            case .waiting(let c):
                s = .taken
                return c
            case .done, .taken:
                return nil
            }
        }
        waiter?.resume(returning: outcome)
    }

    /// Its call was dropped unfinished: a caller still waiting gets `cancelled`, as the reader of
    /// a stream that ended early does.
    func abandon() {
        let open = state.withLock { s -> Bool in
            switch s {
            case .empty, .waiting: true
            case .done, .taken: false
            }
        }
        if open { finish(.failure(PoolError(.cancelled, "the pool dropped the call unfinished"))) }
    }

    /// Suspends until the outcome. When the calling task is cancelled first, runs `cancel` and
    /// returns nil at once, as ``PoolTask/value`` does.
    func value(cancel: @escaping @Sendable () -> Void) async -> ChunkOutcome? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<ChunkOutcome?, Never>) in
                let now: ChunkOutcome?? = state.withLock { s in
                    switch s {
                    case .done(let o):
                        s = .taken
                        return .some(o)
                    case .empty:
                        s = .waiting(c)
                        return nil
                    case .waiting, .taken:
                        preconditionFailure("forkline: a pool task's outcome was awaited twice")
                    }
                }
                if let now { c.resume(returning: now) }
            }
        } onCancel: {
            cancel()
            finish(nil)
        }
    }
}
