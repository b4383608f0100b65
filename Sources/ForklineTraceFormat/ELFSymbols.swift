#if canImport(Glibc)
import Glibc
#endif

/// The function symbols and loadable segments of one ELF64 little-endian file: what `replay`
/// symbolises recorded addresses with, and what a pool names a task's remote backtrace with.
///
/// Every offset read from the file is bounds-checked: a damaged or foreign file gives no
/// symbols, never a crash.
package struct ELFSymbols: Sendable {
    package struct Segment: Sendable { var offset: UInt64; var vaddr: UInt64; var size: UInt64 }
    package struct Symbol: Sendable { var address: UInt64; var size: UInt64; var name: String }

    package var segments: [Segment] = []
    package var symbols: [Symbol] = []  // sorted by address

    /// Parses the bytes of an ELF file; nil when they are not an ELF64 little-endian file.
    package init?(bytes: [UInt8]) {
        guard bytes.count >= 64,
              bytes[0] == 0x7F, bytes[1] == 0x45, bytes[2] == 0x4C, bytes[3] == 0x46, bytes[4] == 2, bytes[5] == 1 else { return nil }
        func u16(_ o: Int) -> Int? { o >= 0 && o + 2 <= bytes.count ? Int(bytes[o]) | Int(bytes[o + 1]) << 8 : nil }
        func u32(_ o: Int) -> UInt64? { o >= 0 && o + 4 <= bytes.count ? (0..<4).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } : nil }
        func u64(_ o: Int) -> UInt64? { o >= 0 && o + 8 <= bytes.count ? (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[o + $1]) << (8 * UInt64($1)) } : nil }
        func int(_ v: UInt64?) -> Int? { v.flatMap { $0 < UInt64(Int.max / 2) ? Int($0) : nil } }
        guard let phoff = int(u64(32)), let shoff = int(u64(40)), let phentsize = u16(54), let phnum = u16(56),
              let shentsize = u16(58), let shnum = u16(60) else { return nil }
        for i in 0..<phnum {
            let o = phoff + i * phentsize
            if u32(o) == 1, let off = u64(o + 8), let vaddr = u64(o + 16), let filesz = u64(o + 32) {  // PT_LOAD
                segments.append(Segment(offset: off, vaddr: vaddr, size: filesz))
            }
        }
        // Symbol tables: .symtab (2) preferred, .dynsym (11) otherwise.
        var tables: [(type: UInt64, off: Int, size: Int, ent: Int, strOff: Int, strSize: Int)] = []
        for i in 0..<shnum {
            let o = shoff + i * shentsize
            guard let type = u32(o + 4), type == 2 || type == 11, let off = int(u64(o + 24)), let size = int(u64(o + 32)),
                  let link = int(u32(o + 40)), let ent = int(u64(o + 56)), ent >= 24, link < shnum else { continue }
            let so = shoff + link * shentsize
            guard let strOff = int(u64(so + 24)), let strSize = int(u64(so + 32)) else { continue }
            tables.append((type, off, size, ent, strOff, strSize))
        }
        let chosen = tables.contains { $0.type == 2 } ? tables.filter { $0.type == 2 } : tables
        for t in chosen {
            let count = t.size / t.ent
            for i in 0..<count {
                let o = t.off + i * t.ent
                guard o + 24 <= bytes.count, let nameIdx = int(u32(o)), let value = u64(o + 8), let size = u64(o + 16) else { break }
                let info = bytes[o + 4]
                let type = info & 0xF
                guard type == 2 || (type == 0 && size > 0), value != 0 else { continue }  // STT_FUNC
                let start = t.strOff + nameIdx
                guard nameIdx < t.strSize, start < bytes.count else { continue }
                var end = start
                while end < bytes.count && end < t.strOff + t.strSize && bytes[end] != 0 { end += 1 }
                symbols.append(Symbol(address: value, size: size, name: String(decoding: bytes[start..<end], as: UTF8.self)))
            }
        }
        symbols.sort { $0.address < $1.address }
    }

    /// The virtual address of file offset `x`, through the PT_LOAD segment holding it.
    package func vaddr(fileOffset x: UInt64) -> UInt64? {
        for s in segments where s.offset <= x && x < s.offset &+ s.size { return s.vaddr &+ (x - s.offset) }
        return nil
    }

    /// The function containing `vaddr`.
    package func symbol(at vaddr: UInt64) -> (name: String, offset: UInt64)? {
        var lo = 0, hi = symbols.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if symbols[mid].address <= vaddr { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let s = symbols[lo - 1]
        guard s.size == 0 || vaddr < s.address &+ s.size else { return nil }
        return (s.name, vaddr - s.address)
    }

    /// The virtual address the file's first byte is loaded at (its PT_LOAD segment of file
    /// offset 0): 0 for a position-independent file. An address found `d` bytes past where the
    /// file's start is mapped (`dladdr`'s `dli_fbase`) is this plus `d`.
    package var baseVaddr: UInt64 { segments.first { $0.offset == 0 }?.vaddr ?? 0 }
}

@_silgen_name("swift_demangle")
private func _swift_demangle(_ mangled: UnsafePointer<CChar>?, _ length: Int, _ output: UnsafeMutablePointer<CChar>?,
                             _ outputSize: UnsafeMutablePointer<Int>?, _ flags: UInt32) -> UnsafeMutablePointer<CChar>?

/// Demangles a Swift symbol with the runtime's demangler; other names come back unchanged.
package func demangle(_ name: String) -> String {
    guard name.hasPrefix("$s") || name.hasPrefix("_$s") || name.hasPrefix("$S") || name.hasPrefix("_T") else { return name }
    return name.withCString { p in
        guard let out = _swift_demangle(p, strlen(p), nil, nil, 0) else { return name }
        defer { free(out) }
        return String(cString: out)
    }
}
