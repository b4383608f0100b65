
/// Encodes and decodes event payloads: a kind's arguments in table order (docs/trace-format.md).
public enum PayloadCodec {
    /// The largest payload one record holds (a record's size in words is a u16): 524,256 bytes.
    public static let maxPayload = 524_256  // 0xFFFF words x 8 - the 24-byte record header (CForkline: FL_TRACE_MAX_PAYLOAD)

    /// The encoded size of `args` for `kind` (strings and lists cut to their u16 counts).
    package static func size(of kind: EventKind, _ args: [TraceValue]) -> Int { sizes(of: kind, args).encoded }

    /// The encoded size of `args` for `kind`, and the size it would need if no string or list
    /// were cut to its u16 count: the two differ when the event is recorded cut short.
    package static func sizes(of kind: EventKind, _ args: [TraceValue]) -> (encoded: Int, needed: Int) {
        var n = 0, full = 0
        for (spec, value) in zip(kind.arguments, args) {
            switch spec.type {
            case .u8: n += 1; full += 1
            case .i32: n += 4; full += 4
            case .u64: n += 8; full += 8
            case .string:
                let c = value.string?.utf8.count ?? 0
                n += 2 + min(c, 0xFFFF); full += 2 + c
            case .frames:
                let c = value.backtrace?.frames?.count ?? 0
                n += 2 + 8 * min(c, maxFrames); full += 2 + 8 * c
            case .modules:
                let ms = value.modules ?? []
                n += 2; full += 2
                for (i, m) in ms.enumerated() {
                    let c = m.path.utf8.count
                    if i < maxCount { n += 26 + min(c, 0xFFFF) }
                    full += 26 + c
                }
            case .status: n += 5; full += 5
            }
        }
        return (n, full)
    }

    /// Writes `args` for `kind` at `p`, which has room for `size(of:_:)` bytes.
    package static func encode(_ kind: EventKind, _ args: [TraceValue], into p: UnsafeMutableRawPointer) {
        var w = PayloadWriter(p)
        for (spec, value) in zip(kind.arguments, args) {
            switch spec.type {
            case .u8: w.u8(UInt8(truncatingIfNeeded: value.uint ?? 0))
            case .i32: w.i32(Int32(truncatingIfNeeded: value.int ?? 0))
            case .u64: w.u64(value.uint ?? UInt64(bitPattern: value.int ?? 0))
            case .string: w.string(value.string ?? "")
            case .frames: w.frames(value.backtrace ?? .unavailable)
            case .modules:
                let ms = Array((value.modules ?? []).prefix(maxCount))
                w.u16(UInt16(ms.count))
                for m in ms {
                    w.u64(m.start); w.u64(m.end); w.u64(m.offset); w.string(m.path)
                }
            case .status:
                switch value.status ?? .exited(0) {
                case .exited(let c): w.u8(0); w.i32(c)
                case .signaled(let s): w.u8(1); w.i32(s)
                }
            }
        }
    }

    /// Encodes to a byte array (tests, tools).
    public static func encode(_ kind: EventKind, _ args: [TraceValue]) -> [UInt8] {
        let n = size(of: kind, args)
        var bytes = [UInt8](repeating: 0, count: n)
        bytes.withUnsafeMutableBytes { encode(kind, args, into: $0.baseAddress!) }
        return bytes
    }

    /// Decodes a payload; throws when it is shorter than its kind needs.
    public static func decode(_ kind: EventKind, _ bytes: UnsafeRawBufferPointer) throws(PayloadError) -> [TraceValue] {
        var r = PayloadReader(bytes)
        var out: [TraceValue] = []
        out.reserveCapacity(kind.arguments.count)
        for spec in kind.arguments {
            switch spec.type {
            case .u8: out.append(.uint(UInt64(try r.u8())))
            case .i32: out.append(.int(Int64(try r.i32())))
            case .u64: out.append(.uint(try r.u64()))
            case .string: out.append(.string(try r.string()))
            case .frames:
                let n = try r.u16()
                if n == 0xFFFF {
                    out.append(.backtrace(.unavailable))
                } else {
                    var f: [UInt64] = []
                    f.reserveCapacity(Int(n))
                    for _ in 0..<n { f.append(try r.u64()) }
                    out.append(.backtrace(Backtrace(frames: f)))
                }
            case .modules:
                let n = try r.u16()
                var ms: [Module] = []
                for _ in 0..<n {
                    ms.append(Module(start: try r.u64(), end: try r.u64(), offset: try r.u64(), path: try r.string()))
                }
                out.append(.modules(ms))
            case .status:
                let tag = try r.u8()
                let v = try r.i32()
                out.append(.status(tag == 0 ? .exited(v) : .signaled(v)))
            }
        }
        return out
    }

    /// The length of the longest prefix of the UTF-8 bytes `u` of at most `limit` bytes that
    /// ends on a character boundary (a string cut to its u16 count stays valid UTF-8).
    @inline(__always)
    package static func utf8Prefix(_ u: UnsafeRawBufferPointer, _ limit: Int) -> Int {
        guard u.count > limit else { return u.count }
        var n = limit
        while n > 0, u[n] & 0xC0 == 0x80 { n -= 1 }
        return n
    }

    static let maxFrames = 0xFFFE
    static let maxCount = 0xFFFF
    static func clampedUTF8Count(_ s: String) -> Int { min(s.utf8.count, 0xFFFF) }
}

/// A payload ended before its kind's arguments did.
public struct PayloadError: Error, Sendable, CustomStringConvertible {
    public var offset: Int
    /// True when a string argument's bytes are not valid UTF-8 (the writer only writes valid
    /// UTF-8, so the record was damaged); false when the payload ends early.
    public var invalidUTF8 = false
    public var description: String {
        invalidUTF8 ? "a string at byte \(offset) is not valid UTF-8 (damaged)" : "payload ends early at byte \(offset)"
    }
}

struct PayloadWriter {
    var p: UnsafeMutableRawPointer
    init(_ p: UnsafeMutableRawPointer) { self.p = p }

    mutating func u8(_ v: UInt8) { p.storeBytes(of: v, as: UInt8.self); p += 1 }
    mutating func u16(_ v: UInt16) { p.storeBytes(of: v.littleEndian, as: UInt16.self); p += 2 }
    mutating func i32(_ v: Int32) { p.storeBytes(of: v.littleEndian, as: Int32.self); p += 4 }
    mutating func u64(_ v: UInt64) { p.storeBytes(of: v.littleEndian, as: UInt64.self); p += 8 }
    mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            let n = PayloadCodec.utf8Prefix(UnsafeRawBufferPointer(u), 0xFFFF)
            u16(UInt16(n))
            if n > 0 { p.copyMemory(from: u.baseAddress!, byteCount: n) }
            p += n
        }
    }
    mutating func frames(_ b: Backtrace) {
        guard let f = b.frames else { u16(0xFFFF); return }
        let n = min(f.count, PayloadCodec.maxFrames)
        u16(UInt16(n))
        for a in f.prefix(n) { u64(a) }
    }
}

struct PayloadReader {
    let bytes: UnsafeRawBufferPointer
    var offset = 0
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func take(_ n: Int) throws(PayloadError) -> Int {
        guard n <= bytes.count - offset else { throw PayloadError(offset: offset) }
        defer { offset += n }
        return offset
    }
    mutating func u8() throws(PayloadError) -> UInt8 { bytes[try take(1)] }
    mutating func u16() throws(PayloadError) -> UInt16 {
        UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self))
    }
    mutating func i32() throws(PayloadError) -> Int32 {
        Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(4), as: Int32.self))
    }
    mutating func u64() throws(PayloadError) -> UInt64 {
        UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self))
    }
    mutating func string() throws(PayloadError) -> String {
        let n = Int(try u16())
        let at = try take(n)
        guard let s = String(validating: UnsafeRawBufferPointer(rebasing: bytes[at..<at + n]).bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw PayloadError(offset: at, invalidUTF8: true)
        }
        return s
    }
}
