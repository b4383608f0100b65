import CForkline

#if canImport(Glibc)
import Glibc
#endif

/// A lock around a value for sections that can block (a write to a full pipe, a read that
/// waits for a peer): a contended `acquire` sleeps on a futex instead of spinning, and an async
/// ``acquire(group:)`` suspends its task through the ``AsyncBridge`` instead of blocking a
/// cooperative thread.
///
/// Fork-safe as ``ForkSafeLock`` is: the word has no owner thread (`Synchronization.Mutex`
/// records one, and a mutex another thread held at `fork()` can never be released in the child),
/// so a process may take it around `fork()` and release it on both sides. The word is
/// process-private (`FUTEX_PRIVATE_FLAG`): 0 free, 1 held, 2 held with sleepers.
package final class SleepingLock<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched between `acquire` and `release`; `word` only with
    // atomic operations and futex calls.
    private let word: UnsafeMutablePointer<UInt32>
    // No dynamic exclusivity check: the lock is what makes each access exclusive, and the check's
    // thread-local access set was a page a fork child faulted in (and the parent, after each fork)
    // on every `withLock` (perf record -e exceptions:page_fault_user of forkline-bench --start).
    @exclusivity(unchecked) private var value: Value

    /// Tries before a contended `acquire` sleeps (a hand-off within a few microseconds is cheaper
    /// caught by watching than by a futex wake-up).
    static var spins: Int { 64 }

    package init(_ value: Value) {
        self.value = value
        word = .allocate(capacity: 1)
        word.initialize(to: 0)
    }

    deinit { word.deallocate() }

    /// Runs `body` with the value locked, sleeping while another thread holds it.
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        acquire()
        defer { release() }
        return try body(&value)
    }

    /// Runs `body` with the value locked; the caller holds the lock already (``acquire(group:)``).
    package func withAcquired<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try body(&value)
    }

    /// Takes the lock if it is free now.
    package func tryAcquire() -> Bool { fl_atomic_cas_u32(word, 0, 1) == 1 }

    /// Takes the lock, sleeping while it is held.
    package func acquire() {
        if tryAcquire() { return }
        for _ in 0..<Self.spins {
            fl_cpu_relax()
            if fl_atomic_load_u32(word) == 0, tryAcquire() { return }
        }
        while fl_atomic_exchange_u32(word, 2) != 0 {
            _ = fl_futex_wait_private(word, 2)
        }
    }

    /// Takes the lock without blocking a thread: suspends through the bridge while it is held.
    /// - Throws: ``WaitFailure`` (cancelled, closed, monitorFailed); the lock is then not held.
    package func acquire(group: WaitGroup?) async throws(WaitFailure) {
        if tryAcquire() { return }
        while fl_atomic_exchange_u32(word, 2) != 0 {
            _ = try await AsyncBridge.shared().waitFutex(word, expected: 2, deadline: 0, shared: false, group: group)
        }
    }

    /// Releases the lock and wakes one sleeper, if any.
    package func release() {
        if fl_atomic_exchange_u32(word, 0) == 2 { _ = fl_futex_wake_private(word, 1) }
    }
}
