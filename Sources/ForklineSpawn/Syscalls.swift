import CForkline
import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// ForklineSpawn's process calls (pipes, sockets, open, reap). Reads, writes and waits go through
/// the system layer, ``Syscall`` (ForklineSystem). Each wrapper retries EINTR where that is right
/// and returns the errno as a value.
enum Sys {
    /// `pipe2(O_CLOEXEC)`: (read end, write end).
    static func pipe(_ context: String) throws(SpawnError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer { fl_pipe_cloexec($0.baseAddress!) }
        if rc < 0 { throw .system("pipe2", -rc, context) }
        return (fds[0], fds[1])
    }

    /// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`.
    static func socketPair(_ context: String) throws(SpawnError) -> (Int32, Int32) {
        switch Syscall.socketPair() {
        case .success(let p): return p
        case .failure(let e): throw .system("socketpair", e.rawValue, context)
        }
    }

    /// `open` with O_CLOEXEC.
    static func open(_ path: String, _ flags: Int32, _ context: String) throws(SpawnError) -> Int32 {
        var fd: Int32
        repeat { fd = Glibc.open(path, flags | O_CLOEXEC, 0o644) } while fd < 0 && errno == EINTR
        if fd < 0 { throw .system("open", errno, "\(context) (\(path))") }
        return fd
    }

    static func close(_ fd: Int32) {
        if fd >= 0 { _ = Glibc.close(fd) }
    }

    /// `waitpid(pid, WNOHANG)`: the status if the child has ended, nil if it runs.
    static func reap(_ pid: pid_t) -> ExitStatus?? {
        switch Syscall.waitpid(pid, options: WNOHANG) {
        case .success(let r) where r.pid == 0: return .some(nil)
        case .success(let r): return .some(decodeWaitStatus(r.status))
        case .failure: return nil  // ECHILD: someone else reaped it
        }
    }

    /// `waitpid(pid, 0)`: waits for the child to end; its status, or nil when another reaper
    /// took it (ECHILD).
    static func waitForExit(_ pid: pid_t) -> ExitStatus? {
        guard case .success(let r) = Syscall.waitpid(pid) else { return nil }
        return decodeWaitStatus(r.status)
    }

    /// Whether a child of this process keeps its status until reaped: false when SIGCHLD is
    /// ignored or has `SA_NOCLDWAIT` (the kernel then reaps children itself and their status is
    /// lost).
    static func keepsChildStatus() -> Bool { fl_children_keep_status() != 0 }

    static func decodeWaitStatus(_ status: Int32) -> ExitStatus {
        let sig = status & 0x7f
        if sig == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(sig)
    }
}
