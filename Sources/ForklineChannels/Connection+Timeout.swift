import ForklineSpawn

extension Connection {
    /// Suspends until a value arrives (nil: the peer closed) or `timeout` passes, without
    /// blocking a thread. A frame half received at the timeout stays for the next receive.
    ///
    /// - Throws: ``ChannelError`` `empty` when nothing arrived within `timeout` (as a queue's
    ///   `get(timeout:)`), and what ``receive(_:)`` throws.
    public func receive<T: Decodable & Sendable>(_ type: T.Type = T.self, timeout: Duration) async throws(ChannelError) -> T? {
        let r = try await withTimeout(timeout, { () async throws(ChannelError) -> T? in try await self.receive(T.self) })
        guard let r else { throw timedOutError(timeout) }
        return r
    }

    /// Suspends until bytes arrive (nil: the peer closed) or `timeout` passes. Throws as
    /// ``receive(_:timeout:)``.
    public func receiveBytes(timeout: Duration) async throws(ChannelError) -> [UInt8]? {
        let r = try await withTimeout(timeout, { () async throws(ChannelError) -> [UInt8]? in try await self.receiveBytes() })
        guard let r else { throw timedOutError(timeout) }
        return r
    }

    func timedOutError(_ timeout: Duration) -> ChannelError {
        if Task.isCancelled { return ChannelError(.cancelled, "receive was cancelled") }
        return ChannelError(.empty, "no message arrived within \(timeout)")
    }
}
