import ForklineSystem
import ForklineTrace

/// Who waits for a pool's workers to be up.
struct Readiness {
    /// Workers that reported ready since the pool started (replacements included).
    var ready = 0
    var waiters: [UInt64: CheckedContinuation<Void, any Error>] = [:]
    var nextWaiter: UInt64 = 0
    /// Set when the driver ended: the error a waiter gets.
    var ended: PoolError?
}

extension PoolDriver {
    /// A worker reported ready: once as many did as the pool has workers, the waiters go on.
    func noteReady() {
        let woken: [CheckedContinuation<Void, any Error>] = readiness.withLock { r in
            r.ready += 1
            guard r.ready >= scheduler.config.workers else { return [] }
            defer { r.waiters = [:] }
            return Array(r.waiters.values)
        }
        for w in woken { w.resume() }
    }

    /// The driver ended: waiters get why.
    func endReadiness(_ reason: Scheduler.Failure) {
        let error: PoolError
        switch reason {
        case .noWorkers(let why):
            error = PoolError(.workerStartFailed, "the pool's workers could not start\(why.map { ": \($0)" } ?? " (they exited before they were ready)")")
        default:
            error = PoolError(.terminated, "the pool ended before its workers were ready")
        }
        let woken: [CheckedContinuation<Void, any Error>] = readiness.withLock { r in
            r.ended = error
            defer { r.waiters = [:] }
            return Array(r.waiters.values)
        }
        for w in woken { w.resume(throwing: error) }
    }
}

extension Pool {
    /// Waits until the pool's workers are up: every one of its ``workers`` worker processes has
    /// started and run its initializer, so ``workerPIDs`` names them (a pool starts its workers
    /// in the background; right after `init` it may have none yet). A service calls it before
    /// it reports itself ready.
    ///
    /// - Throws: ``PoolError`` `workerStartFailed` (with the reason) when the workers keep
    ///   failing to start, `terminated` when the pool ended first; `CancellationError` when the
    ///   caller is cancelled while it waits.
    public func waitUntilReady() async throws {
        let readiness = driver.readiness
        let workers = self.workers
        let id = readiness.withLock { r in
            defer { r.nextWaiter += 1 }
            return r.nextWaiter
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let now: Result<Void, any Error>? = readiness.withLock { r in
                    if r.ready >= workers { return .success(()) }
                    if let e = r.ended { return .failure(e) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    r.waiters[id] = c
                    return nil
                }
                if let now { c.resume(with: now) }
            }
        } onCancel: {
            readiness.withLock { $0.waiters.removeValue(forKey: id) }?.resume(throwing: CancellationError())
        }
    }
}
