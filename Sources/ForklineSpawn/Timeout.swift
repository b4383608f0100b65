/// Runs `operation`, and cancels it when `timeout` passes first. Returns its value, or nil when
/// the timeout passed and the cancelled operation ended without one (a value it still produced,
/// a message received at that very moment, is returned, not lost). Every async wait of
/// Forkline's ends promptly when cancelled and leaves nothing half done.
package func withTimeout<T: Sendable, E: Error>(_ timeout: Duration,
                                                _ operation: @escaping @Sendable () async throws(E) -> T) async throws(E) -> T? {
    typealias Outcome = TimeoutOutcome<T, E>
    let (first, op): (Outcome, Result<T, E>?) = await withTaskGroup(of: Outcome.self) { group in
        group.addTask {
            do throws(E) { return .done(.success(try await operation())) } catch { return .done(.failure(error)) }
        }
        group.addTask {
            do { try await Task.sleep(for: timeout) } catch { return .timerCancelled }
            return .timedOut
        }
        let first = await group.next()!
        group.cancelAll()
        var op: Result<T, E>?
        if case .done(let r) = first { op = r }
        while let other = await group.next() {
            if case .done(let r) = other { op = r }
        }
        return (first, op)
    }
    switch (first, op) {
    case (.done, let r?): return try r.get()
    case (_, .success(let v)?): return v
    default: return nil  // timed out (or the caller was cancelled); the operation gave up
    }
}

/// What finished first in ``withTimeout(_:_:)``.
package enum TimeoutOutcome<T: Sendable, E: Error>: Sendable {
    case done(Result<T, E>)
    case timedOut
    case timerCancelled
}
