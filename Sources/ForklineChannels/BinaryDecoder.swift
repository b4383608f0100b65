import FoundationEssentials

/// Decodes values that ``BinaryEncoder`` encoded (docs/codec.md).
///
/// Damaged input is an error, never a crash or a wrong-typed value: a bad magic or version, a
/// truncated value, an unknown tag, a tag of the wrong type, a number out of its type's range,
/// invalid UTF-8 or bytes after the value each throw `DecodingError.dataCorrupted` (or
/// `typeMismatch`, `keyNotFound`) whose description says what and at which byte offset.
public struct BinaryDecoder: Sendable {
    /// Creates a decoder.
    public init() {}

    /// Decodes a `T` from a whole binary payload.
    ///
    /// - Throws: `DecodingError` when `bytes` is not the payload of a `T`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(T.self, from: $0) }
    }

    /// Decodes a `T` from a whole binary payload in memory that stays valid during the call.
    ///
    /// - Throws: `DecodingError` when `bytes` is not the payload of a `T`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        let s = DecodingSource(bytes)
        guard bytes.count >= 2, bytes[0] == BinaryFormat.magic else {
            throw s.corrupt(0, "not a Forkline binary payload (\(bytes.count) bytes, no magic byte 0xFB)", [])
        }
        guard bytes[1] == BinaryFormat.version else {
            throw s.corrupt(1, "binary payload version \(bytes[1]), this reader knows version \(BinaryFormat.version)", [])
        }
        var at = 2
        let v: T = try s.value(T.self, at: &at, codingPath: [])
        guard at == bytes.count else {
            throw s.corrupt(at, "\(bytes.count - at) bytes after the \(T.self) value", [])
        }
        return v
    }
}

/// The payload being decoded and the readers of its values. (`@unchecked Sendable` is not
/// claimed: it lives only during one `decode` call, on one thread.)
final class DecodingSource {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func corrupt(_ at: Int, _ why: String, _ path: [any CodingKey]) -> DecodingError {
        .dataCorrupted(.init(codingPath: path, debugDescription: "binary payload, byte \(at): \(why)"))
    }

    func tag(_ at: Int, _ path: [any CodingKey]) throws -> UInt8 {
        guard at < bytes.count else { throw corrupt(at, "truncated: a value expected", path) }
        return bytes[at]
    }

    func tagName(_ t: UInt8) -> String {
        switch t {
        case BinaryFormat.null: return "nil"
        case BinaryFormat.falseTag, BinaryFormat.trueTag: return "a Bool"
        case BinaryFormat.int: return "a signed integer"
        case BinaryFormat.uint: return "an unsigned integer"
        case BinaryFormat.float: return "a Float"
        case BinaryFormat.double: return "a Double"
        case BinaryFormat.string: return "a String"
        case BinaryFormat.bytes: return "bytes"
        case BinaryFormat.array: return "an unkeyed container"
        case BinaryFormat.object: return "a keyed container"
        case BinaryFormat.numbers: return "an array of numbers"
        case BinaryFormat.end: return "the end of a container"
        default: return "unknown tag 0x\(String(t, radix: 16))"
        }
    }

    func mismatch<T>(_ type: T.Type, _ t: UInt8, _ at: Int, _ path: [any CodingKey]) -> DecodingError {
        .typeMismatch(T.self, .init(codingPath: path, debugDescription: "binary payload, byte \(at): expected \(T.self), found \(tagName(t))"))
    }

    // MARK: scalars

    func varint(_ at: inout Int, _ path: [any CodingKey]) throws -> UInt64 {
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

    func signed(_ at: inout Int, _ path: [any CodingKey]) throws -> Int64 {
        let start = at
        let t = try tag(at, path)
        at += 1
        switch t {
        case BinaryFormat.int:
            let z = try varint(&at, path)
            return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
        case BinaryFormat.uint:
            let u = try varint(&at, path)
            guard u <= UInt64(Int64.max) else { throw corrupt(start, "\(u) does not fit a signed 64-bit integer", path) }
            return Int64(u)
        default: throw mismatch(Int64.self, t, start, path)
        }
    }

    func unsigned(_ at: inout Int, _ path: [any CodingKey]) throws -> UInt64 {
        let start = at
        let t = try tag(at, path)
        at += 1
        switch t {
        case BinaryFormat.uint: return try varint(&at, path)
        case BinaryFormat.int:
            let z = try varint(&at, path)
            let v = Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
            guard v >= 0 else { throw corrupt(start, "\(v) does not fit an unsigned integer", path) }
            return UInt64(v)
        default: throw mismatch(UInt64.self, t, start, path)
        }
    }

    func integer<I: FixedWidthInteger>(_: I.Type, _ at: inout Int, _ path: [any CodingKey]) throws -> I {
        let start = at
        if I.isSigned {
            let v = try signed(&at, path)
            guard let r = I(exactly: v) else { throw corrupt(start, "\(v) does not fit \(I.self)", path) }
            return r
        }
        let v = try unsigned(&at, path)
        guard let r = I(exactly: v) else { throw corrupt(start, "\(v) does not fit \(I.self)", path) }
        return r
    }

    func fixed<W: FixedWidthInteger>(_: W.Type, _ tag: UInt8, _ name: String, _ at: inout Int, _ path: [any CodingKey]) throws -> W {
        let start = at
        let t = try self.tag(at, path)
        guard t == tag else { throw corrupt(start, "expected \(name), found \(tagName(t))", path) }
        guard at + 1 + MemoryLayout<W>.size <= bytes.count else { throw corrupt(start, "truncated \(name)", path) }
        let v = W(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 1, as: W.self))
        at += 1 + MemoryLayout<W>.size
        return v
    }

    func double(_ at: inout Int, _ path: [any CodingKey]) throws -> Double {
        if at < bytes.count, bytes[at] == BinaryFormat.float {
            return Double(Float(bitPattern: try fixed(UInt32.self, BinaryFormat.float, "a Float", &at, path)))
        }
        return Double(bitPattern: try fixed(UInt64.self, BinaryFormat.double, "a Double", &at, path))
    }

    func float(_ at: inout Int, _ path: [any CodingKey]) throws -> Float {
        Float(bitPattern: try fixed(UInt32.self, BinaryFormat.float, "a Float", &at, path))
    }

    func bool(_ at: inout Int, _ path: [any CodingKey]) throws -> Bool {
        let t = try tag(at, path)
        guard t == BinaryFormat.falseTag || t == BinaryFormat.trueTag else { throw mismatch(Bool.self, t, at, path) }
        at += 1
        return t == BinaryFormat.trueTag
    }

    /// The bytes of a `string` or `bytes` value.
    func span(_ tag: UInt8, _ at: inout Int, _ path: [any CodingKey]) throws -> UnsafeRawBufferPointer {
        let start = at
        let t = try self.tag(at, path)
        guard t == tag else { throw corrupt(start, "expected \(tagName(tag)), found \(tagName(t))", path) }
        at += 1
        let n = try varint(&at, path)
        guard n <= UInt64(bytes.count - at) else { throw corrupt(start, "\(tagName(tag)) of \(n) bytes, only \(bytes.count - at) left", path) }
        defer { at += Int(n) }
        return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + Int(n))])
    }

    func string(_ at: inout Int, _ path: [any CodingKey]) throws -> String {
        let start = at
        let b = try span(BinaryFormat.string, &at, path)
        guard let s = String(validating: b.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw corrupt(start, "the String (\(b.count) bytes) is not valid UTF-8", path)
        }
        return s
    }

    // MARK: values

    /// Decodes a `T` at `at` and moves `at` past it: the byte and number fast paths, else `T(from:)`.
    func value<T: Decodable>(_: T.Type, at: inout Int, codingPath: [any CodingKey]) throws -> T {
        if T.self == [UInt8].self, at < bytes.count, bytes[at] == BinaryFormat.bytes {
            return unsafeBitCast(Array(try span(BinaryFormat.bytes, &at, codingPath)), to: T.self)
        }
        if T.self == Data.self {
            return Data(try span(BinaryFormat.bytes, &at, codingPath)) as! T
        }
        if T.self == String.self { return unsafeBitCast(try string(&at, codingPath), to: T.self) }
        if T.self == Int.self { return unsafeBitCast(try integer(Int.self, &at, codingPath), to: T.self) }
        if T.self == Double.self { return unsafeBitCast(try double(&at, codingPath), to: T.self) }
        if let code = NumberArray.code(T.self), at < bytes.count, bytes[at] == BinaryFormat.numbers {
            let start = at
            guard at + 1 < bytes.count else { throw corrupt(start, "truncated array of numbers", codingPath) }
            guard bytes[at + 1] == code else {
                throw corrupt(start, "expected \(T.self), found an array of numbers of element code \(bytes[at + 1])", codingPath)
            }
            at += 2
            let n = try varint(&at, codingPath)
            let size = UInt64(NumberArray.size(code)!)
            guard n <= UInt64(bytes.count - at) / size else { throw corrupt(start, "\(T.self) of \(n) elements, only \(bytes.count - at) bytes left", codingPath) }
            let length = Int(n) * Int(size)
            defer { at += length }
            return NumberArray.make(T.self, count: Int(n), image: UnsafeRawBufferPointer(rebasing: bytes[at..<(at + length)]))
        }
        let start = at
        let v = try T(from: BinaryDecoding(source: self, at: start, codingPath: codingPath))
        at = try skip(start, codingPath)
        return v
    }

    /// The offset just past the value at `at`.
    func skip(_ at: Int, _ path: [any CodingKey], depth: Int = 0) throws -> Int {
        guard depth < 512 else { throw corrupt(at, "containers nested more than 512 deep", path) }
        var i = at
        let t = try tag(i, path)
        switch t {
        case BinaryFormat.null, BinaryFormat.falseTag, BinaryFormat.trueTag: return i + 1
        case BinaryFormat.int, BinaryFormat.uint:
            i += 1
            _ = try varint(&i, path)
            return i
        case BinaryFormat.float, BinaryFormat.double:
            let n = t == BinaryFormat.float ? 5 : 9
            guard i + n <= bytes.count else { throw corrupt(at, "truncated \(tagName(t))", path) }
            return i + n
        case BinaryFormat.string, BinaryFormat.bytes:
            _ = try span(t, &i, path)
            return i
        case BinaryFormat.numbers:
            guard i + 1 < bytes.count, let size = NumberArray.size(bytes[i + 1]) else { throw corrupt(at, "array of numbers with a bad element code", path) }
            i += 2
            let n = try varint(&i, path)
            guard n <= UInt64(bytes.count - i) / UInt64(size) else { throw corrupt(at, "array of \(n) numbers, only \(bytes.count - i) bytes left", path) }
            return i + Int(n) * size
        case BinaryFormat.array, BinaryFormat.object:
            i += 1
            while true {
                guard i < bytes.count else { throw corrupt(at, "truncated \(tagName(t)): no end", path) }
                if bytes[i] == BinaryFormat.end { return i + 1 }
                if t == BinaryFormat.object {
                    guard bytes[i] == BinaryFormat.string else { throw corrupt(i, "a key expected, found \(tagName(bytes[i]))", path) }
                    _ = try span(BinaryFormat.string, &i, path)
                }
                i = try skip(i, path, depth: depth + 1)
            }
        default: throw corrupt(at, tagName(t), path)
        }
    }
}

/// The `Decoder` handed to a type's `init(from:)`, for the value at `at`.
struct BinaryDecoding: Decoder {
    let source: DecodingSource
    let at: Int
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try BinaryKeyedDecoding<Key>(source: source, at: at, codingPath: codingPath))
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecoding(source: source, at: at, codingPath: codingPath)
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleDecoding(source: source, at: at, codingPath: codingPath)
    }
}
