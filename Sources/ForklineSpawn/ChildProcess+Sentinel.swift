import CForkline
#if canImport(Glibc)
import Glibc
#endif

extension ChildProcess {
    /// What to poll to learn that the child ended: `(descriptor, false)` while it may run (its
    /// pidfd, or its forkserver status socket, readable once it ended), `(-1, true)` once its
    /// status is known, nil when it was never started (or belongs to another process).
    package var sentinel: (fd: Int32, ended: Bool)? {
        guard creatorPid == fl_getpid() else { return nil }
        return state.withLock { s in
            if s.status != nil { return (-1, true) }
            guard s.phase == .running, s.waitFD >= 0 else { return nil }
            return (s.waitFD, false)
        }
    }
}
