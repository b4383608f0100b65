import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

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
        // A `BinaryCodable` type reads itself (one dynamic cast a value).
        if let v = try Self.decodeBinaryIfConforming(T.self, from: bytes) { return v }
        let s = DecodingSource.take(bytes)
        defer { s.give() }
        try s.header()
        var at = 2
        let v: T = try s.value(T.self, at: &at, codingPath: { [] })
        guard at == bytes.count else {
            throw s.corrupt(at, "\(bytes.count - at) bytes after the \(T.self) value", { [] })
        }
        return v
    }
}

/// The coding path of a value being read, built only when an error or a nested decoder needs it:
/// a keyed field's `codingPath + [key]` costs an allocation that a read that succeeds never pays.
typealias CodingPathFn = () -> [any CodingKey]

/// The payload being decoded, the readers of its values, and the read positions of its keyed
/// containers: a handle on this thread's ``DecodingState``, kept and reused from one decode to
/// the next (``take(_:)``), so a decode allocates no state of its own. The state is reached
/// through a pointer, not a class, so that reading it costs no reference counting and no
/// dynamic exclusivity check (measured: those were a quarter of a decode's instructions).
/// Like any Codable decoder's containers, the ones made from it are valid during its decode.
struct DecodingSource {
    let p: UnsafeMutablePointer<DecodingState>

    var bytes: UnsafeRawBufferPointer { p.pointee.bytes }

    /// This thread's free source for `bytes` (a decode inside a decode takes the next one).
    static func take(_ bytes: UnsafeRawBufferPointer) -> DecodingSource {
        var link = pthread_getspecific(DecodingState.key)?.assumingMemoryBound(to: DecodingState.self)
        if link == nil {
            link = DecodingState.make()
            pthread_setspecific(DecodingState.key, link)
        }
        var s = link!
        while s.pointee.inUse {
            if s.pointee.next == nil { s.pointee.next = DecodingState.make() }
            s = s.pointee.next!
        }
        s.pointee.inUse = true
        s.pointee.bytes = bytes
        return DecodingSource(p: s)
    }

    /// Ends a decode: the state forgets the payload and keeps its arrays' capacity.
    func give() {
        p.pointee.bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        p.pointee.cursors.removeAll(keepingCapacity: p.pointee.cursors.capacity <= 4096)
        p.pointee.starts.removeAll(keepingCapacity: p.pointee.starts.capacity <= 4096)
        if !p.pointee.tables.isEmpty { p.pointee.tables.removeAll() }
        p.pointee.depth = 0
        p.pointee.inUse = false
    }

    /// The keyed container whose tag is at `at`: one this state made before for `Key` that
    /// nothing holds any more (its box referenced by the state alone), moved to `at`; else a new
    /// one, kept for next time while the state keeps fewer than 64. Codable boxes each keyed
    /// container (`KeyedDecodingContainer`): making the box costs two generic metadata look-ups,
    /// an allocation and its release (callgrind).
    ///
    /// - Throws: `DecodingError.typeMismatch` when the value at `at` is not a keyed container.
    func keyed<Key: CodingKey>(_: Key.Type, at: Int, codingPath: [any CodingKey]) throws -> KeyedDecodingContainer<Key> {
        let t = try tag(at, { codingPath })
        guard t == BinaryFormat.object else {
            throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: codingPath, debugDescription: "binary payload, byte \(at): expected a keyed container, found \(tagName(t))"))
        }
        let place = KeyedPlace(start: at, index: addCursor(at), codingPath: codingPath)
        let type = ObjectIdentifier(Key.self)
        if let box = p.pointee.kept.free(type, movedTo: place) { return unsafeBitCast(box, to: KeyedDecodingContainer<Key>.self) }
        let cell = p.pointee.kept.cell(place)
        let c = KeyedDecodingContainer(BinaryKeyedDecoding<Key>(source: self, fixed: place, cell: cell))
        if let cell { p.pointee.kept.keep(type, unsafeBitCast(c, to: AnyObject.self), cell) }
        return c
    }

    /// A new cursor for the keyed container whose tag is at `at`; its index.
    func addCursor(_ at: Int) -> Int {
        p.pointee.cursors.append(at + 1)
        p.pointee.starts.append(at)
        return p.pointee.cursors.count - 1
    }
    func cursor(_ i: Int) -> Int { p.pointee.cursors[i] }
    func setCursor(_ i: Int, _ at: Int) { p.pointee.cursors[i] = at }

    /// Checks the payload's magic and version.
    func header() throws {
        guard bytes.count >= 2, bytes[0] == BinaryFormat.magic else {
            throw corrupt(0, "not a Forkline binary payload (\(bytes.count) bytes, no magic byte 0xFB)", { [] })
        }
        guard bytes[1] == BinaryFormat.version else {
            throw corrupt(1, "binary payload version \(bytes[1]), this reader knows version \(BinaryFormat.version)", { [] })
        }
    }

    func corrupt(_ at: Int, _ why: String, _ path: CodingPathFn) -> DecodingError {
        .dataCorrupted(.init(codingPath: path(), debugDescription: "binary payload, byte \(at): \(why)"))
    }

    func tag(_ at: Int, _ path: CodingPathFn) throws -> UInt8 {
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

    func mismatch<T>(_ type: T.Type, _ t: UInt8, _ at: Int, _ path: CodingPathFn) -> DecodingError {
        .typeMismatch(T.self, .init(codingPath: path(), debugDescription: "binary payload, byte \(at): expected \(T.self), found \(tagName(t))"))
    }

    // MARK: scalars

    func varint(_ at: inout Int, _ path: CodingPathFn) throws -> UInt64 {
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

    func signed(_ at: inout Int, _ path: CodingPathFn) throws -> Int64 {
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

    func unsigned(_ at: inout Int, _ path: CodingPathFn) throws -> UInt64 {
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

    func integer<I: FixedWidthInteger>(_: I.Type, _ at: inout Int, _ path: CodingPathFn) throws -> I {
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

    func fixed<W: FixedWidthInteger>(_: W.Type, _ tag: UInt8, _ name: String, _ at: inout Int, _ path: CodingPathFn) throws -> W {
        let start = at
        let t = try self.tag(at, path)
        guard t == tag else { throw corrupt(start, "expected \(name), found \(tagName(t))", path) }
        guard at + 1 + MemoryLayout<W>.size <= bytes.count else { throw corrupt(start, "truncated \(name)", path) }
        let v = W(littleEndian: bytes.loadUnaligned(fromByteOffset: at + 1, as: W.self))
        at += 1 + MemoryLayout<W>.size
        return v
    }

    func double(_ at: inout Int, _ path: CodingPathFn) throws -> Double {
        if at < bytes.count, bytes[at] == BinaryFormat.float {
            return Double(Float(bitPattern: try fixed(UInt32.self, BinaryFormat.float, "a Float", &at, path)))
        }
        return Double(bitPattern: try fixed(UInt64.self, BinaryFormat.double, "a Double", &at, path))
    }

    func float(_ at: inout Int, _ path: CodingPathFn) throws -> Float {
        Float(bitPattern: try fixed(UInt32.self, BinaryFormat.float, "a Float", &at, path))
    }

    func bool(_ at: inout Int, _ path: CodingPathFn) throws -> Bool {
        let t = try tag(at, path)
        guard t == BinaryFormat.falseTag || t == BinaryFormat.trueTag else { throw mismatch(Bool.self, t, at, path) }
        at += 1
        return t == BinaryFormat.trueTag
    }

    /// The bytes of a `string` or `bytes` value.
    func span(_ tag: UInt8, _ at: inout Int, _ path: CodingPathFn) throws -> UnsafeRawBufferPointer {
        let start = at
        let t = try self.tag(at, path)
        guard t == tag else { throw corrupt(start, "expected \(tagName(tag)), found \(tagName(t))", path) }
        at += 1
        let n = try varint(&at, path)
        guard n <= UInt64(bytes.count - at) else { throw corrupt(start, "\(tagName(tag)) of \(n) bytes, only \(bytes.count - at) left", path) }
        defer { at += Int(n) }
        return UnsafeRawBufferPointer(rebasing: bytes[at..<(at + Int(n))])
    }

    func string(_ at: inout Int, _ path: CodingPathFn) throws -> String {
        let start = at
        let b = try span(BinaryFormat.string, &at, path)
        let u = b.bindMemory(to: UInt8.self)
        // ASCII is valid UTF-8 as it is: `String(validating:)` costs a generic metadata look-up
        // a call (~330 instructions, a third of a short String's decode), a scan for ASCII none.
        var high: UInt8 = 0
        for c in u { high |= c }
        if high < 0x80 { return String(decoding: u, as: UTF8.self) }
        guard let s = String(validating: u, as: UTF8.self) else {
            throw corrupt(start, "the String (\(b.count) bytes) is not valid UTF-8", path)
        }
        return s
    }

    // MARK: values

    /// Decodes a `T` at `at` and moves `at` past it: the byte and number fast paths, else `T(from:)`.
    func value<T: Decodable>(_: T.Type, at: inout Int, codingPath: CodingPathFn) throws -> T {
        if let kind = FastType.kind(T.self) {
            switch kind {
            case FastType.string: return unsafeBitCast(try string(&at, codingPath), to: T.self)
            case FastType.int: return unsafeBitCast(try integer(Int.self, &at, codingPath), to: T.self)
            case FastType.double: return unsafeBitCast(try double(&at, codingPath), to: T.self)
            case FastType.bytes:
                // A `[UInt8]` written element by element (an unkeyed container) is read below.
                if at < bytes.count, bytes[at] == BinaryFormat.bytes {
                    return unsafeBitCast(Array(try span(BinaryFormat.bytes, &at, codingPath)), to: T.self)
                }
            case FastType.data: return Data(try span(BinaryFormat.bytes, &at, codingPath)) as! T
            default:
                if at < bytes.count, bytes[at] == BinaryFormat.numbers { return try numbers(T.self, code: kind - FastType.numbers + 1, &at, codingPath) }
            }
        }
        let start = at
        // Containers are read lazily, so the depth is bounded here, before `T(from:)` recurses.
        guard p.pointee.depth < 512 else { throw corrupt(start, "containers nested more than 512 deep", codingPath) }
        p.pointee.depth += 1
        defer { p.pointee.depth -= 1 }
        let first = p.pointee.cursors.count
        let v = try T(from: BinaryDecoding(source: self, at: start, codingPath: codingPath()))
        // A keyed container of this value read in order to its `end`: every byte of it was read
        // and checked by the readers, so its end is known without a second scan.
        if first < p.pointee.cursors.count, p.pointee.starts[first] == start {
            let c = p.pointee.cursors[first]
            if c >= 0, c < bytes.count, bytes[c] == BinaryFormat.end {
                at = c + 1
                return v
            }
        }
        at = try skip(start, codingPath)
        return v
    }

    /// The array of numbers (`NumberArray` element code `code`) at `at`.
    func numbers<T>(_: T.Type, code: UInt8, _ at: inout Int, _ codingPath: CodingPathFn) throws -> T {
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

    /// The offset just past the value at `at`.
    func skip(_ at: Int, _ path: CodingPathFn, depth: Int = 0) throws -> Int {
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

/// Where a keyed container is: the offset of its `object` tag, its entry in the cursors, and
/// its coding path.
struct KeyedPlace {
    var start: Int
    var index: Int
    var codingPath: [any CodingKey]
}

/// What a ``DecodingSource`` reads and keeps; one chain of them per thread.
struct DecodingState {
    var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Per keyed container (its `index`): the offset of the next field to read when fields are
    /// read in the order they were written (the usual case: no table, no scan), or `-1 - t` once
    /// a read out of order made `tables[t]`, the container's fields found in one scan.
    var cursors: [Int] = []
    /// Per keyed container, the offset of its `object` tag.
    var starts: [Int] = []
    /// (key offset, key length, value offset) per field, and where the next look-up starts.
    var tables: [(fields: [(key: Int, length: Int, value: Int)], hint: Int)] = []
    /// How many `T(from:)` calls are under way (a bound on recursion for damaged input).
    var depth = 0
    var inUse = false
    /// The state a decode inside this one uses.
    var next: UnsafeMutablePointer<DecodingState>?
    /// Keyed containers made by this state, handed out again when free (``DecodingSource/keyed(_:at:codingPath:)``).
    var kept = KeptContainers<KeyedPlace>()

    static func make() -> UnsafeMutablePointer<DecodingState> {
        let p = UnsafeMutablePointer<DecodingState>.allocate(capacity: 1)
        p.initialize(to: DecodingState())
        return p
    }

    /// The thread's chain, freed when the thread ends.
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { raw in
            var p = raw?.assumingMemoryBound(to: DecodingState.self)
            while let s = p {
                p = s.pointee.next
                s.pointee.kept.freeCells()
                s.deinitialize(count: 1)
                s.deallocate()
            }
        }
        return k
    }()
}

/// The `Decoder` handed to a type's `init(from:)`, for the value at `at`.
struct BinaryDecoding: Decoder {
    let source: DecodingSource
    let at: Int
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        try source.keyed(Key.self, at: at, codingPath: codingPath)
    }
    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecoding(source: source, at: at, codingPath: codingPath)
    }
    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        BinarySingleDecoding(source: source, at: at, codingPath: codingPath)
    }
}
