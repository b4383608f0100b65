import CForkline
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// The one place ForklineSpawn calls the kernel. Each wrapper retries EINTR where that is right
/// and returns the errno as a value; bugs (EBADF, EFAULT) trap.
enum Sys {
    static func check(_ r: Int32, _ call: String, _ context: String) throws(SpawnError) -> Int32 {
        if r < 0 { throw .system(call, errno, context) }
        return r
    }

    /// `pipe2(O_CLOEXEC)`: (read end, write end).
    static func pipe(_ context: String) throws(SpawnError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer { fl_pipe_cloexec($0.baseAddress!) }
        if rc < 0 { throw .system("pipe2", -rc, context) }
        return (fds[0], fds[1])
    }

    /// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`.
    static func socketPair(_ context: String) throws(SpawnError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        let rc = fds.withUnsafeMutableBufferPointer {
            socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, $0.baseAddress!)
        }
        if rc < 0 { throw .system("socketpair", errno, context) }
        return (fds[0], fds[1])
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

    /// Writes all of `bytes`; EPIPE and friends come back as errno.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32? {
        var off = 0
        while off < bytes.count {
            let n = send(fd, bytes.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL))
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ENOTSOCK {
                    let w = write(fd, bytes.baseAddress! + off, bytes.count - off)
                    if w < 0 { if errno == EINTR { continue }; return errno }
                    off += w
                    continue
                }
                return errno
            }
            off += n
        }
        return nil
    }

    /// Reads exactly `count` bytes; nil on EOF before that (or an error).
    static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var off = 0
        while off < count {
            let n = out.withUnsafeMutableBytes { read(fd, $0.baseAddress! + off, count - off) }
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return nil }
            off += n
        }
        return out
    }

    /// Reads until EOF.
    static func readToEnd(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 { if errno == EINTR { continue }; break }
            if n == 0 { break }
            out += buf[0..<n]
        }
        return out
    }

    /// `poll` on one descriptor for input; true when readable (or hung up) within `timeoutMs`
    /// (-1: forever).
    static func waitReadable(_ fd: Int32, timeoutMs: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = timeoutMs < 0 ? UInt64.max : fl_monotonic_ns() + UInt64(timeoutMs) * 1_000_000
        while true {
            var left = timeoutMs
            if timeoutMs >= 0 {
                let now = fl_monotonic_ns()
                left = now >= deadline ? 0 : Int32((deadline - now + 999_999) / 1_000_000)
            }
            let r = poll(&p, 1, left)
            if r > 0 { return true }
            if r == 0 { return false }
            if errno != EINTR { return true }
        }
    }

    /// `waitpid(pid, WNOHANG)`: the status if the child has ended, nil if it runs.
    static func reap(_ pid: pid_t) -> ExitStatus?? {
        var status: Int32 = 0
        var r: pid_t
        repeat { r = waitpid(pid, &status, WNOHANG) } while r < 0 && errno == EINTR
        if r == 0 { return .some(nil) }
        if r < 0 { return nil }  // ECHILD: someone else reaped it
        return .some(decodeWaitStatus(status))
    }

    static func decodeWaitStatus(_ status: Int32) -> ExitStatus {
        let sig = status & 0x7f
        if sig == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(sig)
    }
}
