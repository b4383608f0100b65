import CForkline
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

extension Backtrace {
    /// Captures the calling thread's return addresses (innermost first, this function excluded),
    /// or ``unavailable`` when libunwind cannot be loaded.
    ///
    /// Costs about 0.1 us warm; symbolisation happens later, in `replay`.
    public static func capture(skipping skip: Int = 0, maxFrames: Int = 48) -> Backtrace {
        guard fl_unwind_load() != 0 else { return .unavailable }
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: maxFrames + skip + 2) { buf in
            let n = Int(fl_backtrace(buf.baseAddress!, Int32(buf.count)))
            guard n >= 0 else { return .unavailable }
            let drop = min(n, 1 + skip)  // fl_backtrace's caller frame is this function
            return Backtrace(frames: Array(buf[drop..<n].prefix(maxFrames)))
        }
    }
}

extension Backtrace {
    /// ``capture(skipping:maxFrames:)`` when tracing is on; otherwise an empty backtrace, at no cost.
    @inline(__always)
    package static func captureIfTracing(skipping skip: Int = 0) -> Backtrace {
        Tracer.isEnabled ? capture(skipping: skip + 1) : Backtrace(frames: [])
    }
}

extension Module {
    /// The executable mappings of this process, from `/proc/self/maps`.
    public static func current() -> [Module] {
        let fd = Glibc.open("/proc/self/maps", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            guard case .success(let n) = chunk.withUnsafeMutableBytes({ Syscall.read(fd, into: $0) }), n > 0 else { break }
            bytes += chunk[0..<n]
        }
        var out: [Module] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            // start-end perms offset dev inode path
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 5, omittingEmptySubsequences: true)
            guard fields.count == 6, fields[1].count >= 3, fields[1][fields[1].startIndex + 2] == UInt8(ascii: "x") else { continue }
            let range = fields[0].split(separator: UInt8(ascii: "-"))
            let path = String(decoding: fields[5], as: UTF8.self).trimmingLeadingSpaces()
            guard range.count == 2, path.hasPrefix("/"),
                  let start = UInt64(String(decoding: range[0], as: UTF8.self), radix: 16),
                  let end = UInt64(String(decoding: range[1], as: UTF8.self), radix: 16),
                  let offset = UInt64(String(decoding: fields[2], as: UTF8.self), radix: 16) else { continue }
            out.append(Module(start: start, end: end, offset: offset, path: path))
        }
        return out
    }
}

extension String {
    fileprivate func trimmingLeadingSpaces() -> String {
        String(self.drop(while: { $0 == " " }))
    }
}
