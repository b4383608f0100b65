import CForkline
import ForklineSpawn
import ForklineTrace
import ForklineSystem

/// Runs a blocking wait on one of the async bridge's blocking threads (reused, never a
/// cooperative thread) and resumes the caller with its result. For waits that are not yet a
/// futex wait of the bridge (``Barrier``'s). Not cancellable: give it a timeout.
func blockingOffPool<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
    await AsyncBridge.runBlocking(body)
}

extension SyncCore {
    /// Waits, without blocking a thread, until `seq` moves (or `deadline` passes), unless
    /// `ready` (run holding the mutex) is already true. The waiter is counted in `waiters`
    /// meanwhile, so a state change wakes it. A true return may be spurious: re-check.
    /// - Returns: false when the deadline passed first.
    /// - Throws: ``ChannelError`` `cancelled`, or `systemCallFailed` when the bridge failed;
    ///   in both cases a wake-up this waiter may have consumed is passed on.
    func awaitChange(deadline end: UInt64, label: String, ready: () -> Bool) async throws(ChannelError) -> Bool {
        let seen: UInt32? = withLock { _ in
            if ready() { return nil }
            waiters.pointee += 1
            return seq.pointee
        }
        guard let seen else { return true }
        let outcome: Result<Bool, WaitFailure>
        do throws(WaitFailure) {
            outcome = .success(try await AsyncBridge.shared().waitFutex(seq, expected: seen, deadline: end))
        } catch {
            outcome = .failure(error)
        }
        withLock { held in
            waiters.pointee -= 1
            // A release meant for this waiter may have woken it: hand it on to the next sleeper.
            if case .failure = outcome, waiters.pointee > 0 { signal(&held, 1) }
        }
        return try outcome.mapError { ChannelError(waiting: $0, label) }.get()
    }
}

extension Semaphore {
    /// Takes one unit, waiting up to `timeout` (nil: forever) without blocking the caller's
    /// thread.
    /// - Returns: false when the timeout passed first (nothing was taken).
    /// - Throws: ``ChannelError`` `cancelled` when the task is cancelled (nothing was taken),
    ///   `systemCallFailed` when the async bridge failed.
    @discardableResult
    public func acquire(timeout: Duration? = nil) async throws(ChannelError) -> Bool {
        let end = deadline(after: timeout)
        var began = false
        while true {
            if tryAcquire() {
                Tracer.waitEnd(began, .semaphore, id, .done)
                return true
            }
            if end != 0, fl_monotonic_ns() >= end {
                Tracer.waitEnd(began, .semaphore, id, .timedOut)
                return false
            }
            if !began { began = Tracer.waitBegin(.semaphore, id) }
            let changed: Bool
            do { changed = try await core.awaitChange(deadline: end, label: "Semaphore \(hex16(id))") { core[0] > 0 } } catch {
                Tracer.waitEnd(began, .semaphore, id, .failed)
                throw error
            }
            if !changed {
                let got = tryAcquire()
                Tracer.waitEnd(began, .semaphore, id, got ? .done : .timedOut)
                return got
            }
        }
    }
}

extension BoundedSemaphore {
    /// Takes one unit, waiting up to `timeout` (nil: forever) without blocking the caller's
    /// thread. Returns false when the timeout passed first; throws as ``Semaphore``'s.
    @discardableResult
    public func acquire(timeout: Duration? = nil) async throws(ChannelError) -> Bool { try await base.acquire(timeout: timeout) }
}

extension Event {
    /// Waits until the flag is set, up to `timeout` (nil: forever), without blocking the
    /// caller's thread.
    /// - Returns: false when the timeout passed first.
    /// - Throws: ``ChannelError`` `cancelled` when the task is cancelled, `systemCallFailed`
    ///   when the async bridge failed.
    @discardableResult
    public func wait(timeout: Duration? = nil) async throws(ChannelError) -> Bool {
        let end = deadline(after: timeout)
        var began = false
        while true {
            if isSet || (end != 0 && fl_monotonic_ns() >= end) { break }
            if !began { began = Tracer.waitBegin(.event, id) }
            let changed: Bool
            do { changed = try await core.awaitChange(deadline: end, label: "Event \(hex16(id))") { core[0] == 1 } } catch {
                Tracer.waitEnd(began, .event, id, .failed)
                throw error
            }
            if !changed { break }
        }
        core.lock()
        defer { core.unlock() }
        let ok = core[0] == 1
        Tracer.waitEnd(began, .event, id, ok ? .done : .timedOut)
        Tracer.recordWords(.eventWait, id, core[1], ok ? 1 : 0)
        return ok
    }
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
