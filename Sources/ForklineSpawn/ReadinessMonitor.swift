import CForkline
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// One thread that waits, with epoll, for any number of descriptors to become readable (children
/// ending, messages arriving), and resumes the tasks awaiting them: an async `join` or `receive`
/// never blocks a thread of the cooperative pool.
package final class ReadinessMonitor: @unchecked Sendable {
    // @unchecked: `epfd` is immutable; `waiters` is behind its lock.
    let epfd: Int32
    let waiters = ForkSafeLock<[Int32: [CheckedContinuation<Void, Never>]]>([:])

    static let current = ForkSafeLock<ReadinessMonitor?>(nil)

    package static func shared() -> ReadinessMonitor {
        current.withLock { m in
            if let m { return m }
            let made = ReadinessMonitor()
            m = made
            return made
        }
    }

    init() {
        epfd = fl_epoll_create()
        precondition(epfd >= 0, "forkline: epoll_create1 failed (errno \(-epfd))")
        let box = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            Unmanaged<ReadinessMonitor>.fromOpaque(arg!).takeRetainedValue().loop()
            return nil
        }, box)
        precondition(rc == 0, "forkline: cannot create the join monitor thread (errno \(rc))")
        pthread_detach(tid)
    }

    /// Suspends until `fd` is readable (the child ended).
    package func waitReadable(_ fd: Int32) async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let first = waiters.withLock { w in
                w[fd, default: []].append(c)
                return w[fd]!.count == 1
            }
            guard first else { return }
            if fl_epoll_watch_once(epfd, fd) != 0 { wake(fd) }  // cannot watch it: let the caller re-check
        }
    }

    func wake(_ fd: Int32) {
        let ready = waiters.withLock { $0.removeValue(forKey: fd) ?? [] }
        for c in ready { c.resume() }
    }

    func loop() {
        var ready = [Int32](repeating: -1, count: 64)
        while true {
            let n = ready.withUnsafeMutableBufferPointer { fl_epoll_wait(epfd, $0.baseAddress, 64, -1) }
            if n < 0 { if n == -EINTR { continue }; return }
            for i in 0..<Int(n) {
                fl_epoll_forget(epfd, ready[i])
                wake(ready[i])
            }
        }
    }

    /// In a fork child: the monitor thread did not survive, and its epoll set is the parent's.
    static func resetAfterFork() {
        current.withLock { $0 = nil }
    }
}
