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
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Result<Int, Errno> {
        valueOrErrno("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
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
    /// it is. EINTR restarts the wait with the time left. The corresponding C function is `poll`.
    package static func waitReadable(_ fd: Int32, timeoutMs: Int32) -> Bool {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let deadline = timeoutMs < 0 ? UInt64.max : fl_monotonic_ns() + UInt64(timeoutMs) * 1_000_000
        while true {
            var left = timeoutMs
            if timeoutMs >= 0 {
                let now = fl_monotonic_ns()
                left = now >= deadline ? 0 : Int32((deadline - now + 999_999) / 1_000_000)
            }
            switch valueOrErrno("poll", retryOnInterrupt: false, { Glibc.poll(&p, 1, left) }) {
            case .success(let r): return r > 0
            case .failure(let e) where e.rawValue == EINTR: continue
            case .failure: return true
            }
        }
    }
}
