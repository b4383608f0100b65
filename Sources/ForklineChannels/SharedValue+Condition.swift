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
    public func withoutLocking<R>(_ body: (inout T) throws -> R) rethrows -> R { try body(&pointer.pointee) }
}
