import ForklineTraceFormat

#if canImport(Glibc)
import Glibc
#endif

/// Reading one trace file's bytes: regular files only, and no further than the trace in it goes.
extension Trace {
    /// How much is read at a time.
    static let readBlock = 1 << 20

    /// The bytes of the trace file at `path`: for a binary trace, up to where its records end (the
    /// first empty record, or damage), for JSON Lines up to the first NUL byte (text has none), and
    /// never past the size the file had when opened. So a sparse file costs what its trace holds,
    /// not its apparent size.
    /// - Throws: a message naming the file: it cannot be opened, or is not a regular file (a FIFO
    ///   would block for ever, a device never ends).
    static func readTraceFile(_ path: String, json: (_ name: String, _ firstBytes: [UInt8]) -> Bool,
                              stopAtNUL: Bool = true) throws(ReplayError) -> (bytes: [UInt8], json: Bool) {
        // O_NONBLOCK: opening a FIFO with no writer would block; the fstat below refuses it.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw ReplayError("\(path): \(String(cString: strerror(errno)))", code: .unreadable) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ReplayError("\(path): \(String(cString: strerror(errno)))", code: .unreadable) }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw ReplayError("\(path): not a regular file (\(fileTypeName(st.st_mode))); skipped", code: .unreadable)
        }
        let limit = Int(st.st_size)
        var bytes: [UInt8] = []
        func readMore(_ want: Int) throws(ReplayError) -> Bool {
            let n = min(want, limit - bytes.count)
            guard n > 0 else { return false }
            let old = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: n))
            var got = 0
            while got < n {
                let r = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + old + got, n - got, off_t(old + got)) }
                if r < 0 {
                    if errno == EINTR { continue }
                    throw ReplayError("\(path): \(String(cString: strerror(errno)))", code: .unreadable)
                }
                if r == 0 { break }
                got += r
            }
            bytes.removeLast(n - got)
            return got > 0
        }
        _ = try readMore(readBlock)
        if json(path, bytes) {
            // Text: read on to the end or the first NUL byte.
            var from = 0
            while true {
                if stopAtNUL, let nul = bytes[from...].firstIndex(of: 0) {
                    bytes.removeSubrange(nul...)
                    break
                }
                from = bytes.count
                if try !readMore(readBlock) { break }
            }
            return (bytes, true)
        }
        // Binary: follow the record headers, reading on only while they continue.
        var at = TraceFormat.fileHeaderSize
        while true {
            let (next, ended) = bytes.withUnsafeBytes { TraceFormat.walkRecords($0, from: at) }
            at = next
            if ended { break }
            let need = max(readBlock, TraceFormat.recordSpan(bytes, at) - (bytes.count - at))
            if try !readMore(need) { break }
        }
        return (bytes, false)
    }

    /// The whole of a regular file (an executable, to symbolise), no more than its size; nil when
    /// it cannot be read or is not a regular file.
    static func readFile(_ path: String) -> [UInt8]? {
        try? readTraceFile(path, json: { _, _ in true }, stopAtNUL: false).bytes
    }

    static func fileTypeName(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        case S_IFDIR: "a directory"
        default: "not a file"
        }
    }
}
