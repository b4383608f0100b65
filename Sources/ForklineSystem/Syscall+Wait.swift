import CForkline

#if canImport(Glibc)
import Glibc
#endif

extension Syscall {
    /// `waitpid(pid, options)`, EINTR retried: the pid reaped (0 with `WNOHANG` while it runs)
    /// and its raw status. ECHILD (another reaper took it) is a condition, returned as the error.
    package static func waitpid(_ pid: pid_t, options: Int32 = 0) -> Result<(pid: pid_t, status: Int32), Errno> {
        var status: Int32 = 0
        return valueOrErrno("waitpid") { Glibc.waitpid(pid, &status, options) }.map { ($0, status) }
    }

    /// `poll` over `fds` for up to `timeoutMs` (-1: forever); the number of ready descriptors (0
    /// at the timeout). An interrupted wait starts again with the time that was left.
    package static func poll(_ fds: inout [pollfd], timeoutMs: Int32) -> Result<Int32, Errno> {
        let deadline = timeoutMs < 0 ? UInt64.max : fl_monotonic_ns() + UInt64(timeoutMs) * 1_000_000
        while true {
            var left = timeoutMs
            if timeoutMs >= 0 {
                let now = fl_monotonic_ns()
                left = now >= deadline ? 0 : Int32((deadline - now + 999_999) / 1_000_000)
            }
            let r = valueOrErrno("poll", retryOnInterrupt: false) { Glibc.poll(&fds, nfds_t(fds.count), left) }
            if case .failure(let e) = r, e.rawValue == EINTR { continue }
            return r
        }
    }

    /// One `recv` into `buffer` with `flags` (`MSG_DONTWAIT`, `MSG_PEEK`): the bytes read, 0 at
    /// the end. `EAGAIN` comes back as the error. `closable`: see ``valueOrErrno(_:retryOnInterrupt:closable:_:)``.
    package static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, flags: Int32,
                                closable: Bool = false) -> Result<Int, Errno> {
        valueOrErrno("recv", closable: closable) { Glibc.recv(fd, buffer.baseAddress, buffer.count, flags) }
    }

    /// One `send` of `bytes` with `flags`, always with `MSG_NOSIGNAL`: the bytes sent. `closable`:
    /// see ``valueOrErrno(_:retryOnInterrupt:closable:_:)``.
    package static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, flags: Int32, closable: Bool = false) -> Result<Int, Errno> {
        valueOrErrno("send", closable: closable) { Glibc.send(fd, bytes.baseAddress, bytes.count, flags | Int32(MSG_NOSIGNAL)) }
    }
}
