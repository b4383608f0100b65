import CForkline
import FoundationEssentials
import ForklineSystem
import ForklineTraceFormat

#if canImport(Glibc)
import Glibc
#endif

/// One frame of a remote backtrace as the worker saw it: the return address, and the file
/// holding it with the address's distance from where that file's start is mapped (`dladdr`),
/// which the caller turns into a function name with the file's symbol table.
struct RemoteFrame: Codable, Sendable, Hashable {
    var address: UInt64
    var file: String?
    var offset: UInt64
}

/// The worker's half of a remote backtrace (Python's `RemoteTraceback`): the stack of the
/// `throw` that failed a task, taken in the worker and sent back with the error's type and text.
///
/// A worker installs the Swift runtime's will-throw hooks (`Sources/CForkline/throws.c`), so
/// every `throw` records its thread's return addresses (~0.1 us, libunwind); when a task's body
/// throws, the worker takes the last throw site of its thread and notes, for each address, the
/// file holding it and where that file is mapped (`dladdr`; no symbol work in the worker). The
/// caller names the frames only when ``PoolError/remoteBacktrace`` is read (from the file's
/// `.symtab`, else `.dynsym`; Swift names demangled), as `replay` symbolises crash backtraces
/// after the fact. Without libunwind there is no remote backtrace.
enum ThrowSites {
    /// Installs the hooks in this process (a worker, once, before its first task).
    static func install() { _ = fl_throw_capture_install() }

    /// The calling thread's last throw site, innermost first; nil when none was recorded.
    static func take() -> [RemoteFrame]? {
        let addresses = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Int(FL_THROW_FRAMES)) { buf in
            Array(buf.prefix(Int(fl_throw_capture_take(buf.baseAddress!, Int32(buf.count)))))
        }
        guard !addresses.isEmpty else { return nil }
        var frames: [RemoteFrame] = []
        frames.reserveCapacity(addresses.count)
        var i = 0
        while i < addresses.count {
            frames.append(locate(addresses[i]))
            i += 1
        }
        return frames
    }

    /// Where `address` is: its file and its distance from the file's mapped start.
    static func locate(_ address: UInt64) -> RemoteFrame {
        var symbol: UnsafePointer<CChar>?
        var file: UnsafePointer<CChar>?
        var symbolStart: UInt64 = 0
        var fileBase: UInt64 = 0
        guard fl_symbol_of(address > 0 ? address - 1 : address, &symbol, &file, &symbolStart, &fileBase) == 1 else {
            return RemoteFrame(address: address, file: nil, offset: address)
        }
        return RemoteFrame(address: address, file: file.map { String(cString: $0) }, offset: address &- fileBase)
    }

    /// Run in the parent before it forks a worker (``PoolWorker/rehearse(_:payload:)``): the
    /// generic types ``take()`` needs, instantiated where no fork can catch a runtime lock held.
    static func rehearse() {
        var frames: [RemoteFrame] = []
        frames.reserveCapacity(1)
        frames.append(locate(0))
        _ = frames.count
    }

    /// The symbol tables read so far, by file (nil: not an ELF file we can read).
    static let tables = ForkSafeLock<[String: ELFSymbols?]>([:])

    static func symbols(of path: String) -> ELFSymbols? {
        if let known = tables.withLock({ $0[path] }) { return known }
        // Parsed outside the lock: a large binary takes a while, once per process.
        let parsed = (try? Data(contentsOf: URL(filePath: path))).flatMap { ELFSymbols(bytes: [UInt8]($0)) }
        tables.withLock { $0[path] = .some(parsed) }
        return parsed
    }

    /// The lines of ``PoolError/remoteBacktrace`` for `frames`: from the frame that threw (the
    /// hook's own frames, through the runtime's `swift_willThrow`, dropped) up to, not
    /// including, the worker's own frames; every frame when the names are not known.
    static func lines(_ frames: [RemoteFrame]) -> [String] {
        var lines: [String] = []
        var names: [String?] = []
        for (i, f) in frames.enumerated() {
            let (line, name) = describe(f, isReturnAddress: i > 0)
            lines.append(line)
            names.append(name)
        }
        var start = 0
        if let hook = names.lastIndex(where: { $0?.hasPrefix("swift_willThrow") == true }) { start = hook + 1 }
        var end = lines.count
        if let loop = names[start...].firstIndex(where: { $0.map { $0.contains("PoolFunction.runChunk") || $0.contains("PoolWorker.run") } == true }) {
            end = loop
        }
        return lines[start..<max(start, end)].enumerated().map { "#\($0) \($1)" }
    }

    /// One frame's line, and its demangled function name when the file's symbols have it.
    static func describe(_ f: RemoteFrame, isReturnAddress: Bool) -> (String, String?) {
        let hex = "0x" + String(f.address, radix: 16)
        guard let path = f.file else { return (hex, nil) }
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let lookup = isReturnAddress && f.offset > 0 ? f.offset - 1 : f.offset
        guard let elf = symbols(of: path), let s = elf.symbol(at: elf.baseVaddr &+ lookup) else {
            return ("\(hex) (\(base) + 0x\(String(f.offset, radix: 16)))", nil)
        }
        let name = demangle(s.name)
        return ("\(hex) \(name) + \(s.offset + (lookup == f.offset ? 0 : 1)) (\(base))", name)
    }
}
