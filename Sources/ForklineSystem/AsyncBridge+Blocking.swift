#if canImport(Glibc)
import Glibc
#endif

extension AsyncBridge {
    /// Runs a blocking `body` on one of the bridge's blocking threads and suspends until it
    /// returns: for waits that are not (yet) a futex or descriptor wait of the bridge. The
    /// threads are reused (a thread per concurrent job at most, made when none is idle), never
    /// cooperative ones. Not cancellable: `body` should have a timeout.
    package static func runBlocking<R: Sendable>(_ body: @escaping @Sendable () -> R) async -> R {
        await withCheckedContinuation { (c: CheckedContinuation<R, Never>) in
            BlockingThreads.submit { c.resume(returning: body()) }
        }
    }
}

/// The bridge's pool of blocking threads: idle ones sleep on a condition variable.
enum BlockingThreads {
    struct State {
        var jobs: [() -> Void] = []
        var idle = 0
    }

    // nonisolated(unsafe): `state` is only touched holding `mutex`; the pointers are set once.
    nonisolated(unsafe) static var state = State()
    nonisolated(unsafe) static let mutex: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        pthread_mutex_init(m, nil)
        return m
    }()
    nonisolated(unsafe) static let cond: UnsafeMutablePointer<pthread_cond_t> = {
        let c = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
        pthread_cond_init(c, nil)
        return c
    }()

    static func submit(_ job: @escaping () -> Void) {
        used = true  // before the lock: a child forked while it was held sees `used`
        pthread_mutex_lock(mutex)
        state.jobs.append(job)
        let spawn = state.idle < state.jobs.count  // every queued job has an idle thread or a new one
        pthread_cond_signal(cond)
        pthread_mutex_unlock(mutex)
        if spawn { BridgeThread.start(Box()) { _ in work() } }
    }

    final class Box {}

    static func work() {
        while true {
            pthread_mutex_lock(mutex)
            while state.jobs.isEmpty {
                state.idle += 1
                pthread_cond_wait(cond, mutex)
                state.idle -= 1
            }
            let job = state.jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job()
        }
    }

    /// Set by the first `submit` before it takes `mutex`: until then there is no thread, no job
    /// and no lock to forget. A plain global with a constant value, so reading it creates nothing.
    nonisolated(unsafe) static var used = false

    /// In a fork child: the threads did not survive; the mutex may have been held by one of them.
    /// A parent that never ran a blocking job leaves nothing to reset: the child skips it, and
    /// with it the first touch of the lazily made mutex and condition (page faults, ~4 a child).
    static func resetAfterFork() {
        guard used else { return }
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
        state = State()
    }
}
