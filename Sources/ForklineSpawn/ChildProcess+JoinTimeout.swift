import ForklineTrace

extension ChildProcess {
    /// Suspends until the child ends or `timeout` passes (nil: no limit); nil on timeout. The
    /// async form of the blocking `join(timeout:)`: no thread blocks.
    ///
    /// - Throws: ``SpawnError`` as ``join()``; `cancelled` when the awaiting task is cancelled.
    public func join(timeout: Duration?) async throws(SpawnError) -> ExitStatus? {
        guard let timeout else { return try await join() }
        if let status = try await withTimeout(timeout, { () async throws(SpawnError) -> ExitStatus in try await self.join() }) {
            return status
        }
        if Task.isCancelled { throw SpawnError(.cancelled, "\(name): joining was cancelled") }
        return nil
    }
}
