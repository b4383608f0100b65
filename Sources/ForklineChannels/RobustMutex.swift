import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// Process-shared, robust pthread mutexes in shared memory: the one place that sets them up and
/// takes them with a timeout (`Lock`, `RLock` and the synchronisation monitor use it).
enum RobustMutex {
    /// Initialises `mutex`: process-shared, robust (a holder's death is reported to the next
    /// locker as `EOWNERDEAD`), and re-entrant when `recursive`.
    ///
    /// - Throws: ``ChannelError`` `systemCallFailed` naming `what`.
    static func initialise(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, recursive: Bool = false,
                           what: String) throws(ChannelError) {
        var attr = pthread_mutexattr_t()
        pthread_mutexattr_init(&attr)
        defer { pthread_mutexattr_destroy(&attr) }
        pthread_mutexattr_setpshared(&attr, Int32(PTHREAD_PROCESS_SHARED))
        pthread_mutexattr_setrobust(&attr, Int32(PTHREAD_MUTEX_ROBUST))
        if recursive { pthread_mutexattr_settype(&attr, Int32(PTHREAD_MUTEX_RECURSIVE)) }
        let rc = pthread_mutex_init(mutex, &attr)
        if rc != 0 {
            throw ChannelError(.systemCallFailed, "initialising \(what): \(String(cString: strerror(rc)))",
                               syscall: "pthread_mutex_init", errno: rc)
        }
    }

    enum Outcome { case locked, previousOwnerDied, timedOut }

    /// Locks `mutex`, waiting up to `timeout` (nil: forever). A holder that died leaves the mutex
    /// ours and made consistent again (`previousOwnerDied`: what it guarded may be half-updated).
    /// Any other failure means the caller misused the lock (EINVAL, ENOTRECOVERABLE, EDEADLK):
    /// a precondition failure naming `what`.
    static func acquire(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, timeout: Duration? = nil,
                        what: @autoclosure () -> String) -> Outcome {
        let rc = lock(mutex, timeout: timeout)
        switch rc {
        case 0: return .locked
        case ETIMEDOUT: return .timedOut
        case EOWNERDEAD:
            pthread_mutex_consistent(mutex)
            return .previousOwnerDied
        default:
            preconditionFailure("\(what()): pthread_mutex_lock failed: \(String(cString: strerror(rc)))")
        }
    }

    /// Locks `mutex` if it is free now (nil: another thread holds it). The traced types try this
    /// first, so only an acquire that has to wait records a `waitBegin`.
    static func tryAcquire(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, what: @autoclosure () -> String) -> Outcome? {
        let rc = pthread_mutex_trylock(mutex)
        switch rc {
        case 0: return .locked
        case EBUSY: return nil
        case EOWNERDEAD:
            pthread_mutex_consistent(mutex)
            return .previousOwnerDied
        default:
            preconditionFailure("\(what()): pthread_mutex_trylock failed: \(String(cString: strerror(rc)))")
        }
    }

    /// Locks `mutex` as ``acquire(_:timeout:what:)``, and when tracing is on and the mutex is
    /// taken, records the wait on `kind`/`id` (`ref`: what the waiter saw, read when it began).
    static func acquireTraced(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, timeout: Duration?, kind: WaitKind, id: UInt64,
                              ref: @autoclosure () -> UInt64, what: @autoclosure () -> String) -> Outcome {
        guard Tracer.isEnabled else { return acquire(mutex, timeout: timeout, what: what()) }
        if let now = tryAcquire(mutex, what: what()) { return now }
        if timeout == .zero { return .timedOut }
        let began = Tracer.waitBegin(kind, id, ref: ref())
        let outcome = acquire(mutex, timeout: timeout, what: what())
        Tracer.waitEnd(began, kind, id, outcome == .timedOut ? .timedOut : .done)
        return outcome
    }

    /// Locks `mutex`, waiting up to `timeout` (nil, or more than ~31 years: forever). Returns
    /// pthread's result: 0, `ETIMEDOUT`, `EOWNERDEAD` (locked; the previous holder died), or an
    /// error that means the caller misused the lock.
    private static func lock(_ mutex: UnsafeMutablePointer<pthread_mutex_t>, timeout: Duration?) -> Int32 {
        guard let timeout, timeout.components.seconds < 1_000_000_000 else { return pthread_mutex_lock(mutex) }
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ns = Int(ts.tv_nsec) + Int(timeout.clampedNanoseconds % 1_000_000_000)
        ts.tv_sec += Int(timeout.clampedNanoseconds / 1_000_000_000) + ns / 1_000_000_000
        ts.tv_nsec = ns % 1_000_000_000
        return pthread_mutex_timedlock(mutex, &ts)
    }
}
