extension Condition {
    /// Takes the condition's lock, waits until `predicate` (called holding it) is true or
    /// `timeout` passes in all (nil: forever), and releases the lock: the async form of
    /// `withLock { wait(for:timeout:) }`. It runs on one of the async bridge's blocking
    /// threads, so the lock (an `RLock` is owned by a thread) is taken and released on the same
    /// thread and no cooperative thread blocks. Not cancellable: give it a timeout.
    ///
    /// - Returns: the predicate's last value (false: the timeout passed first).
    /// - Throws: what the blocking `wait(for:timeout:)` throws.
    public func wait(for predicate: @escaping @Sendable () -> Bool, timeout: Duration?) async throws -> Bool {
        try await blockingOffPool { [self] () -> Result<Bool, any Error> in
            Result { try withLockedWait(predicate, timeout) }
        }.get()
    }

    /// Runs `body` holding the condition's lock (to change what waiters test, then `notify`),
    /// on one of the async bridge's blocking threads.
    ///
    /// - Throws: what `body` throws.
    public func withLock<R: Sendable>(_ body: @escaping @Sendable (Condition) throws -> R) async throws -> R {
        try await blockingOffPool { [self] () -> Result<R, any Error> in
            Result { try withLock { _ in try body(self) } }
        }.get()
    }

    func withLockedWait(_ predicate: () -> Bool, _ timeout: Duration?) throws -> Bool {
        try withLock { _ in try wait(for: predicate, timeout: timeout) }
    }
}
