import CForkline

#if canImport(Glibc)
import Glibc
#endif

extension Syscall {
    /// Writes all of `bytes` to `fd` (blocking), never raising SIGPIPE: a reader that is gone is
    /// `EPIPE` (or `ECONNRESET` on a socket). The corresponding C function is `write`/`send`.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Errno? {
        var off = 0
        while off < bytes.count {
            let r = valueOrNegatedErrno("write") { fl_write_nosigpipe(fd, bytes.baseAddress! + off, bytes.count - off) }
            switch r {
            case .success(let n): off += n
            case .failure(let e): return e
            }
        }
        return nil
    }

    /// One read into `buffer`; 0 at end of file. The corresponding C function is `read`.
    /// `closable`: see ``valueOrErrno(_:retryOnInterrupt:closable:_:)``.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, closable: Bool = false) -> Result<Int, Errno> {
        valueOrErrno("read", closable: closable) { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Reads exactly `count` bytes; nil at end of file before that, or on an error.
    package static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: count)
        var off = 0
        while off < count {
            let r = out.withUnsafeMutableBytes { read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[off...])) }
            guard case .success(let n) = r, n > 0 else { return nil }
            off += n
        }
        return out
    }

    /// Reads until end of file (or an error).
    package static func readToEnd(_ fd: Int32) -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let r = buf.withUnsafeMutableBytes { read(fd, into: $0) }
            guard case .success(let n) = r, n > 0 else { break }
            out += buf[0..<n]
        }
        return out
    }

    /// Waits until `fd` is readable (or hung up) for at most `timeoutMs` (-1: forever); true when
    /// it is (a poll that fails counts as readable: the read that follows reports the error).
    package static func waitReadable(_ fd: Int32, timeoutMs: Int32) -> Bool {
        var p = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
        switch poll(&p, timeoutMs: timeoutMs) {
        case .success(let r): return r > 0
        case .failure: return true
        }
    }
}

extension Syscall {
    /// `socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC)`: two connected ends. EMFILE and ENFILE
    /// (no descriptors left) come back as the error.
    package static func socketPair() -> Result<(Int32, Int32), Errno> {
        var fds: [Int32] = [-1, -1]
        return valueOrErrno("socketpair") {
            fds.withUnsafeMutableBufferPointer {
                Glibc.socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, $0.baseAddress!)
            }
        }.map { _ in (fds[0], fds[1]) }
    }
}
