import Dispatch

/// Runs a blocking wait on a Dispatch thread and resumes the caller with its result, so async
/// code never blocks a thread of the cooperative pool. The wait is not cancellable: give it a
/// timeout. (Fork-method children run no Swift concurrency: they call the blocking versions.)
func blockingOffPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(returning: body()) }
    }
}

extension Semaphore {
    /// Takes one unit, waiting up to `timeout` (nil: forever) without blocking the caller's
    /// thread. Returns false when the timeout passed first.
    @discardableResult
    public func acquire(timeout: Duration? = nil) async -> Bool {
        await blockingOffPool { [self] in acquireBlocking(timeout) }
    }

    func acquireBlocking(_ timeout: Duration?) -> Bool { acquire(timeout: timeout) }
}

extension BoundedSemaphore {
    /// Takes one unit, waiting up to `timeout` (nil: forever) without blocking the caller's
    /// thread. Returns false when the timeout passed first.
    @discardableResult
    public func acquire(timeout: Duration? = nil) async -> Bool { await base.acquire(timeout: timeout) }
}

extension Event {
    /// Waits until the flag is set, up to `timeout` (nil: forever), without blocking the
    /// caller's thread. Returns false when the timeout passed first.
    @discardableResult
    public func wait(timeout: Duration? = nil) async -> Bool {
        await blockingOffPool { [self] in waitBlocking(timeout) }
    }

    func waitBlocking(_ timeout: Duration?) -> Bool { wait(timeout: timeout) }
}

extension Barrier {
    /// Arrives and waits for the other parties, up to `timeout` (nil: forever), without
    /// blocking the caller's thread.
    /// - Returns: this party's arrival index in the round.
    /// - Throws: ``ChannelError/Code/brokenBarrier`` as the blocking ``wait(timeout:)`` does.
    @discardableResult
    public func wait(timeout: Duration? = nil) async throws(ChannelError) -> Int {
        try await blockingOffPool { [self] () -> Result<Int, ChannelError> in waitBlocking(timeout) }.get()
    }

    func waitBlocking(_ timeout: Duration?) -> Result<Int, ChannelError> {
        do throws(ChannelError) { return .success(try wait(timeout: timeout)) } catch { return .failure(error) }
    }
}
