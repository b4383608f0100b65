extension SharedValue {
    /// Runs `body` on the value without taking its lock, for a caller that already holds
    /// ``lock``: inside a ``Condition`` built on it (`Condition(lock: value.lock)`), whose `wait`
    /// must release and retake that very lock.
    ///
    /// ```swift
    /// let items = try SharedValue(0)
    /// let nonEmpty = try Condition(lock: items.lock)
    /// try nonEmpty.withLock { _ in
    ///     _ = try nonEmpty.wait(for: { items.withoutLocking { $0 > 0 } })
    ///     items.withoutLocking { $0 -= 1 }
    /// }
    /// ```
    ///
    /// The caller must hold a lock that orders every access to this value: ``lock`` (as the
    /// Condition above does), or another one that all its users take (an RLock a Condition is
    /// built on). Without one the access races; this is the one unsynchronised door of the type.
    public func withoutLocking<R>(_ body: (inout T) throws -> R) rethrows -> R { try body(&pointer.pointee) }
}
