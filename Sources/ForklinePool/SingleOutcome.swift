import Synchronization

/// The outcome of a one-task call awaited in place (``Pool/apply(_:_:timeout:)``): the driver
/// thread resumes the caller with it directly, one hop onto the caller's executor. Read from a
/// stream by a task of its own (``PoolTask``), it cost a task to make and two hops: the driver
/// resumed that task, which then resumed the caller. An ``Pool/applyAsync(_:_:timeout:callback:errorCallback:)``
/// handle takes it with ``forward(_:)`` instead: the driver thread completes the handle itself.
final class SingleOutcome: Sendable {
    enum State {
        case empty
        case waiting(CheckedContinuation<ChunkOutcome?, Never>)
        /// The outcome goes to this closure, on the thread that finishes it.
        case forwarding(@Sendable (ChunkOutcome?) -> Void)
        /// nil: the caller was cancelled first.
        case done(ChunkOutcome?)
        case taken
    }

    let state = Mutex<State>(.empty)

    /// Ends the wait with `outcome` (nil: the caller was cancelled), the first time only: the
    /// driver's outcome after a cancellation, or a second one, is dropped.
    func finish(_ outcome: ChunkOutcome?) {
        enum Next { case none, resume(CheckedContinuation<ChunkOutcome?, Never>), call(@Sendable (ChunkOutcome?) -> Void) }
        let next: Next = state.withLock { s in
            switch s {
            case .empty:
                s = .done(outcome)
                return .none
            case .waiting(let c):
                s = .taken
                return .resume(c)
            case .forwarding(let f):
                s = .taken
                return .call(f)
            case .done, .taken:
                return .none
            }
        }
        switch next {
        case .none: break
        case .resume(let c): c.resume(returning: outcome)
        case .call(let f): f(outcome)
        }
    }

    /// Hands the outcome to `deliver` instead of a waiter: at once if it is already there, else
    /// on the thread that finishes it (the driver's), once. Not with ``value(cancel:)``.
    func forward(_ deliver: @escaping @Sendable (ChunkOutcome?) -> Void) {
        if let now = takeOrPark(.forwarding(deliver)) { deliver(now) }
    }

    /// The outcome if it is there (taken), else nil with `parked` (a waiter) in its place.
    private func takeOrPark(_ parked: State) -> ChunkOutcome?? {
        state.withLock { s in
            switch s {
            case .done(let o):
                s = .taken
                return .some(o)
            case .empty:
                s = parked
                return nil
            case .waiting, .forwarding, .taken:
                preconditionFailure("forkline: a pool task's outcome was awaited twice")
            }
        }
    }

    /// Its call was dropped unfinished: a caller still waiting gets `cancelled`, as the reader of
    /// a stream that ended early does.
    func abandon() { finish(.failure(PoolError(.cancelled, "the pool dropped the call unfinished"))) }

    /// Suspends until the outcome. When the calling task is cancelled first, runs `cancel` and
    /// returns nil at once, as ``PoolTask/value`` does.
    func value(cancel: @escaping @Sendable () -> Void) async -> ChunkOutcome? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<ChunkOutcome?, Never>) in
                if let now = takeOrPark(.waiting(c)) { c.resume(returning: now) }
            }
        } onCancel: {
            cancel()
            finish(nil)
        }
    }
}
