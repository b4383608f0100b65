import Synchronization

/// The pool's bound on unfinished tasks (`maxPending`): callers take room for their tasks
/// before they are submitted, and the driver gives it back as each task is delivered.
final class Admission: Sendable {
    struct Waiter {
        var id: UInt64
        var count: Int
        var continuation: CheckedContinuation<Void, any Error>
    }

    struct State {
        var pending = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    /// The most unfinished tasks (nil: no bound).
    let limit: Int?
    let policy: PoolBackpressure
    let state = Mutex(State())

    init(limit: Int?, policy: PoolBackpressure) {
        self.limit = limit
        self.policy = policy
    }

    /// A call of `count` tasks fits: always when nothing is pending (so a call larger than the
    /// bound still runs, alone).
    static func fits(_ s: State, _ count: Int, _ limit: Int) -> Bool { s.pending == 0 || s.pending + count <= limit }

    func overloaded(_ s: State, _ count: Int, _ limit: Int) -> PoolError {
        PoolError(.overloaded, "the pool holds \(s.pending) unfinished tasks (maxPending \(limit)): \(count) more do not fit; try again later")
    }

    /// Takes room for `count` tasks now, or throws `overloaded`.
    func admitNow(_ count: Int) throws(PoolError) {
        guard let limit, count > 0 else { return }
        try state.withLock { (s: inout State) throws(PoolError) in
            guard s.waiters.isEmpty, Self.fits(s, count, limit) else { throw overloaded(s, count, limit) }
            s.pending += count
        }
    }

    /// Takes room for `count` tasks, waiting for it under ``PoolBackpressure/wait``.
    ///
    /// - Throws: ``PoolError`` `overloaded` under ``PoolBackpressure/throw``;
    ///   `CancellationError` when the caller is cancelled while it waits.
    func admit(_ count: Int) async throws {
        guard policy == .wait, let limit, count > 0 else { return try admitNow(count) }
        let id = state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = state.withLock { s in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if s.waiters.isEmpty && Self.fits(s, count, limit) {
                        s.pending += count
                        return .success(())
                    }
                    s.waiters.append(Waiter(id: id, count: count, continuation: c))
                    return nil
                }
                if let now { c.resume(with: now) }
            }
        } onCancel: {
            let w: Waiter? = state.withLock { s in
                guard let i = s.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return s.waiters.remove(at: i)
            }
            w?.continuation.resume(throwing: CancellationError())
            // The waiter behind a removed one may fit now.
            release(0)
        }
    }

    /// `count` tasks were delivered (or never submitted): wakes the waiters that fit, in order.
    func release(_ count: Int) {
        guard let limit else { return }
        let woken: [Waiter] = state.withLock { s in
            s.pending -= count
            var out: [Waiter] = []
            while let w = s.waiters.first, Self.fits(s, w.count, limit) {
                s.pending += w.count
                out.append(s.waiters.removeFirst())
            }
            return out
        }
        for w in woken { w.continuation.resume() }
    }

    /// Tasks taken and not yet given back.
    var pending: Int { state.withLock { $0.pending } }
}
