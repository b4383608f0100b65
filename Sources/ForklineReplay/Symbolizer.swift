import ForklineTraceFormat

/// A symbolised frame.
public struct SymbolicatedFrame: Sendable, Hashable, CustomStringConvertible {
    public var address: UInt64
    /// The file of the mapping holding the address, nil if no mapping does.
    public var module: String?
    /// The demangled function name, nil if unknown.
    public var symbol: String?
    /// Offset from the function's start.
    public var offset: UInt64

    public var description: String {
        let file = module.map { " (\($0.split(separator: "/").last.map(String.init) ?? $0))" } ?? ""
        guard let symbol else { return "0x\(String(address, radix: 16))\(file)" }
        return "0x\(String(address, radix: 16)) \(symbol) + \(offset)\(file)"
    }
}

/// Turns recorded return addresses into function names, after the process is gone, from the
/// process's `modules` event and the ELF symbol tables of those files. Swift names are demangled.
public final class Symbolizer {
    var cache: [String: ELFSymbols?] = [:]

    public init() {}

    /// Symbolises one address. `isReturnAddress` (every frame but a crash's faulting pc) looks up
    /// `address - 1`, so a call that ends a function is attributed to that function.
    public func symbolicate(_ address: UInt64, in modules: [Module], isReturnAddress: Bool = true) -> SymbolicatedFrame {
        var frame = SymbolicatedFrame(address: address, module: nil, symbol: nil, offset: 0)
        let lookup = isReturnAddress && address > 0 ? address - 1 : address
        guard let m = modules.first(where: { $0.start <= lookup && lookup < $0.end }) else { return frame }
        frame.module = m.path
        let elf: ELFSymbols?
        if let cached = cache[m.path] { elf = cached } else {
            elf = ELFSymbols(path: m.path)
            cache[m.path] = elf
        }
        guard let elf, let vaddr = elf.vaddr(fileOffset: lookup - m.start + m.offset), let s = elf.symbol(at: vaddr) else { return frame }
        frame.symbol = demangle(s.name)
        frame.offset = s.offset + (lookup == address ? 0 : 1)
        return frame
    }

    /// Symbolises a backtrace; nil when it was recorded as unavailable.
    public func symbolicate(_ backtrace: Backtrace, in modules: [Module], firstIsPC: Bool = false) -> [SymbolicatedFrame]? {
        guard let frames = backtrace.frames else { return nil }
        return frames.enumerated().map { symbolicate($1, in: modules, isReturnAddress: !(firstIsPC && $0 == 0)) }
    }
}

extension ELFSymbols {
    /// The symbols of the file at `path` (read whole, bounds-checked).
    init?(path: String) {
        guard let bytes = Trace.readFile(path) else { return nil }
        self.init(bytes: bytes)
    }
}

#if canImport(Glibc)
import Glibc
#endif

extension Trace {
    /// The mappings to symbolise `process`'s addresses with: its own `modules` event, or, for a
    /// fork child (which shares its parent's), the nearest ancestor's. A file modified after the
    /// process started (a rebuilt binary) would give wrong names: its path comes back with
    /// ``Symbolizer/changedSuffix`` appended, so no symbols are read from it and the frame says why.
    public func modules(for process: ProcessTrace) -> [Module] {
        var p: ProcessTrace? = process
        var hops = 0
        while let cur = p, hops < 64 {
            if let m = cur.modules { return Symbolizer.markChanged(m, since: process.header.realtime) }
            p = cur.start?["parentPuid"]?.uint.flatMap { self.process($0) }
            hops += 1
        }
        return []
    }
}

extension Symbolizer {
    /// Appended to the path of a module whose file changed after the run.
    package static let changedSuffix = " [file changed since the run: not symbolised]"

    /// `modules` with the files modified after `realtime` (ns since 1970; 0: unknown) marked.
    static func markChanged(_ modules: [Module], since realtime: UInt64) -> [Module] {
        guard realtime > 0 else { return modules }
        var cache: [String: Bool] = [:]
        return modules.map { m in
            let changed: Bool
            if let c = cache[m.path] { changed = c } else {
                var st = stat()
                changed = stat(m.path, &st) == 0
                    && UInt64(max(0, st.st_mtim.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, st.st_mtim.tv_nsec)) > realtime
                cache[m.path] = changed
            }
            guard changed else { return m }
            var out = m
            out.path += changedSuffix
            return out
        }
    }
}
