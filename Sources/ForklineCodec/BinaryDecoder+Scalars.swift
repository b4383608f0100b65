import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

// The readers of the format's scalars. Each is inlinable with its usual case inlined (a whole
// value in the payload, a length or integer that fits its bytes) and every other case, and
// every error, in a function of its own that is not: a ``BinaryCodable`` type's `init(from:)`
// reads its fields in its own module with no call into this one (docs/codec.md).

extension DecodingSource {
    /// The LEB128 integer at `at` (moved past it).
    @inlinable @inline(__always)
    func varint(_ at: inout Int, _ path: CodingPathFn) throws -> UInt64 {
        let b = bytes
        var i = at, v: UInt64 = 0, shift: UInt64 = 0
        while i < b.count && shift < 63 {
            let c = b[i]
            i += 1
            v |= UInt64(c & 0x7F) << shift
            if c < 0x80 {
                at = i
                return v
            }
            shift += 7
        }
        return try varintSlow(&at, path)
    }

    /// ``varint(_:_:)`` with its checks: truncated, longer than 64 bits, a tenth byte.
    @usableFromInline
    func varintSlow(_ at: inout Int, _ path: CodingPathFn) throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        let start = at
        while true {
            guard at < bytes.count else { throw corrupt(start, "truncated integer", path) }
            let b = bytes[at]
            at += 1
            guard shift < 64, shift < 63 || b <= 1 else { throw corrupt(start, "integer longer than 64 bits", path) }
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    @inlinable @inline(__always)
    func signed(_ at: inout Int, _ path: CodingPathFn) throws -> Int64 {
        if at < bytes.count, bytes[at] == BinaryFormat.int {
            var i = at + 1
            let z = try varint(&i, path)
            at = i
            return Self.unzigzag(z)
        }
        return try signedSlow(&at, path)
    }

    /// A zigzag LEB128 value's signed integer.
    @inlinable @inline(__always)
    static func unzigzag(_ z: UInt64) -> Int64 { Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1))) }

    /// A signed integer written unsigned, or not an integer (``signed(_:_:)`` reads one written
    /// signed itself).
    @usableFromInline
    func signedSlow(_ at: inout Int, _ path: CodingPathFn) throws -> Int64 {
        let start = at
        let t = try tag(at, path)
        at += 1
        switch t {
        case BinaryFormat.uint:
            let u = try varint(&at, path)
            guard u <= UInt64(Int64.max) else { throw corrupt(start, "\(u) does not fit a signed 64-bit integer", path) }
            return Int64(u)
        default: throw mismatch(Int64.self, t, start, path)
        }
    }

    @inlinable @inline(__always)
    func unsigned(_ at: inout Int, _ path: CodingPathFn) throws -> UInt64 {
        if at < bytes.count, bytes[at] == BinaryFormat.uint {
            var i = at + 1
            let u = try varint(&i, path)
            at = i
            return u
        }
        return try unsignedSlow(&at, path)
    }

    /// An unsigned integer written signed, or not an integer (``unsigned(_:_:)`` reads one
    /// written unsigned itself).
    @usableFromInline
    func unsignedSlow(_ at: inout Int, _ path: CodingPathFn) throws -> UInt64 {
        let start = at
        let t = try tag(at, path)
        at += 1
        switch t {
        case BinaryFormat.int:
            let v = Self.unzigzag(try varint(&at, path))
            guard v >= 0 else { throw corrupt(start, "\(v) does not fit an unsigned integer", path) }
            return UInt64(v)
        default: throw mismatch(UInt64.self, t, start, path)
        }
    }

    /// An integer into any integer type it fits.
    @inlinable @inline(__always)
    func integer<I: FixedWidthInteger>(_: I.Type, _ at: inout Int, _ path: CodingPathFn) throws -> I {
        let start = at
        if I.isSigned {
            let v = try signed(&at, path)
            guard let r = I(exactly: v) else { throw doesNotFit(String(v), I.self, start, path) }
            return r
        }
        let v = try unsigned(&at, path)
        guard let r = I(exactly: v) else { throw doesNotFit(String(v), I.self, start, path) }
        return r
    }

    @usableFromInline
    func doesNotFit<I>(_ v: String, _: I.Type, _ at: Int, _ path: CodingPathFn) -> DecodingError {
        corrupt(at, "\(v) does not fit \(I.self)", path)
    }

    /// The fixed-size little-endian number after tag `tag`.
    @inlinable @inline(__always)
    func fixed<W: FixedWidthInteger>(_: W.Type, _ tag: UInt8, _ name: StaticString, _ at: inout Int, _ path: CodingPathFn) throws -> W {
        let n = 1 + MemoryLayout<W>.size
        guard at < bytes.count, bytes[at] == tag, n <= bytes.count - at else { throw notFixed(tag, name, at, n, path) }
        let v = W(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 1, as: W.self))
        at += n
        return v
    }

    /// Why the value at `at` is not the `n`-byte fixed-size value of tag `tag`.
    @usableFromInline
    func notFixed(_ tag: UInt8, _ name: StaticString, _ at: Int, _ n: Int, _ path: CodingPathFn) -> DecodingError {
        guard at < bytes.count else { return truncated(at, path) }
        guard bytes[at] == tag else { return corrupt(at, "expected \(name), found \(tagName(bytes[at]))", path) }
        return corrupt(at, "truncated \(name)", path)
    }

    /// A Double (a Float is widened).
    @inlinable @inline(__always)
    func double(_ at: inout Int, _ path: CodingPathFn) throws -> Double {
        if at < bytes.count, bytes[at] == BinaryFormat.float {
            return Double(Float(bitPattern: try fixed(UInt32.self, BinaryFormat.float, "a Float", &at, path)))
        }
        return Double(bitPattern: try fixed(UInt64.self, BinaryFormat.double, "a Double", &at, path))
    }

    @inlinable @inline(__always)
    func float(_ at: inout Int, _ path: CodingPathFn) throws -> Float {
        Float(bitPattern: try fixed(UInt32.self, BinaryFormat.float, "a Float", &at, path))
    }

    @inlinable @inline(__always)
    func bool(_ at: inout Int, _ path: CodingPathFn) throws -> Bool {
        let t = try tag(at, path)
        guard t == BinaryFormat.falseTag || t == BinaryFormat.trueTag else { throw mismatch(Bool.self, t, at, path) }
        at += 1
        return t == BinaryFormat.trueTag
    }

    /// The bytes of a `string` or `bytes` value (in place).
    @inlinable @inline(__always)
    func span(_ tag: UInt8, _ at: inout Int, _ path: CodingPathFn) throws -> UnsafeRawBufferPointer {
        let b = bytes
        // The usual case: a length of one byte (< 128) and the bytes in the payload.
        if at + 1 < b.count, b[at] == tag, b[at + 1] < 0x80, Int(b[at + 1]) <= b.count - at - 2 {
            let start = at + 2
            at = start + Int(b[at + 1])
            return UnsafeRawBufferPointer(rebasing: b[start..<at])
        }
        return try spanSlow(tag, &at, path)
    }

    /// ``span(_:_:_:)`` of a longer value, with its checks.
    @usableFromInline
    func spanSlow(_ tag: UInt8, _ at: inout Int, _ path: CodingPathFn) throws -> UnsafeRawBufferPointer {
        let start = at
        let t = try self.tag(at, path)
        guard t == tag else { throw corrupt(start, "expected \(tagName(tag)), found \(tagName(t))", path) }
        at += 1
        let n = try varint(&at, path)
        guard n <= UInt64(bytes.count - at) else { throw corrupt(start, "\(tagName(tag)) of \(n) bytes, only \(bytes.count - at) left", path) }
        defer { at += Int(n) }
        return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + Int(n))])
    }

    /// A String: its UTF-8, validated.
    @inlinable @inline(__always)
    func string(_ at: inout Int, _ path: CodingPathFn) throws -> String {
        let start = at
        let u = try span(BinaryFormat.string, &at, path).bindMemory(to: UInt8.self)
        // ASCII is valid UTF-8 as it is: `String(validating:)` costs a generic metadata look-up
        // a call (~330 instructions, a third of a short String's decode), a scan for ASCII none.
        var high: UInt8 = 0
        for c in u { high |= c }
        if high < 0x80 {
            // Built from the bytes as they are: a small String (up to 15 bytes) checks them
            // for ASCII only, where `String(decoding:as:)` runs the repairing validator.
            return String(unsafeUninitializedCapacity: u.count) { buf in
                if u.count > 0 { UnsafeMutableRawPointer(buf.baseAddress!).copyMemory(from: u.baseAddress!, byteCount: u.count) }
                return u.count
            }
        }
        return try validated(u, start, path)
    }

    /// A String that is not ASCII: validated as UTF-8. Decoded (invalid bytes would be repaired
    /// with U+FFFD) and compared with the bytes, which are valid UTF-8 exactly when nothing was
    /// repaired: `String(validating:)` costs a generic metadata look-up a call.
    @usableFromInline
    func validated(_ u: UnsafeBufferPointer<UInt8>, _ start: Int, _ path: CodingPathFn) throws -> String {
        var s = String(decoding: u, as: UTF8.self)
        let same = s.withUTF8 { d in d.count == u.count && memcmp(d.baseAddress!, u.baseAddress!, u.count) == 0 }
        guard same else { throw corrupt(start, "the String (\(u.count) bytes) is not valid UTF-8", path) }
        return s
    }
}
