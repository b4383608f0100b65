import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A small spin lock around a value that a forked child can take over.
///
/// `Synchronization.Mutex` records its owner thread; after `fork()` only the forking thread
/// survives, and a mutex another thread held at that moment can never be released in the child.
/// This lock has no owner: the parent takes it around `fork()` (so the value is not torn) and
/// both sides release it afterwards. Holds are a few instructions long, so spinning is cheap.
package final class ForkSafeLock<Value> {
    private let flag = Atomic<Bool>(false)
    // No dynamic exclusivity check: the lock is what makes each access exclusive, and the check's
    // thread-local access set was a page a fork child faulted in (and the parent, after each fork)
    // on every `withLock` (perf record -e exceptions:page_fault_user of forkline-bench --start).
    @exclusivity(unchecked) private var value: Value

    package init(_ value: Value) { self.value = value }

    /// Runs `body` with the value locked.
    package func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        acquire()
        defer { release() }
        return try body(&value)
    }

    /// Takes the lock (before `fork()`; release it in both processes afterwards).
    package func acquire() {
        var spins = 0
        while flag.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged == false {
            spins += 1
            if spins % 128 == 0 { sched_yield() }
        }
    }

    /// Releases the lock.
    package func release() { flag.store(false, ordering: .releasing) }
}

// @unchecked: `value` is only touched between `acquire` and `release` of `flag`, and only a
// Sendable value may be shared this way (a non-Sendable one could escape `withLock` and be used
// by two threads at once).
extension ForkSafeLock: @unchecked Sendable where Value: Sendable {}
