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
        if let type = BinaryConformance.of(T.self) { return try Self.decodeBinary(T.self, as: type, from: bytes) }
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
@usableFromInline
typealias CodingPathFn = () -> [any CodingKey]

/// The payload being decoded, the readers of its values, and the read positions of its keyed
/// containers: a handle on this thread's ``DecodingState``, kept and reused from one decode to
/// the next (``take(_:)``), so a decode allocates no state of its own. The state is reached
/// through a pointer, not a class, so that reading it costs no reference counting and no
/// dynamic exclusivity check (measured: those were a quarter of a decode's instructions).
/// Like any Codable decoder's containers, the ones made from it are valid during its decode.
///
/// The readers of scalars are inlinable, for a ``BinaryCodable`` type's `init(from:)` in its own
/// module; the errors are made here (not inlined).
@usableFromInline
struct DecodingSource {
    @usableFromInline let p: UnsafeMutablePointer<DecodingState>

    @usableFromInline init(p: UnsafeMutablePointer<DecodingState>) { self.p = p }

    @inlinable
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
        // The cursors are kept for the next decode (emptying an array costs a call a decode).
        p.pointee.used = 0
        if p.pointee.cursors.count > 4096 {
            p.pointee.cursors = []
            p.pointee.starts = []
        }
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
        let c = KeyedDecodingContainer(BinaryKeyedDecoding<Key>(source: self, fixedStart: at, fixedIndex: place.index,
                                                                fixedPath: cell == nil ? codingPath : nil, cell: cell))
        if let cell { p.pointee.kept.keep(type, unsafeBitCast(c, to: AnyObject.self), cell) }
        return c
    }

    /// A new cursor for the keyed container whose tag is at `at`; its index.
    func addCursor(_ at: Int) -> Int {
        let i = p.pointee.used
        if i < p.pointee.cursors.count {
            p.pointee.cursors[i] = at + 1
            p.pointee.starts[i] = at
        } else {
            p.pointee.cursors.append(at + 1)
            p.pointee.starts.append(at)
        }
        p.pointee.used = i + 1
        return i
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

    @usableFromInline
    func corrupt(_ at: Int, _ why: String, _ path: CodingPathFn) -> DecodingError {
        .dataCorrupted(.init(codingPath: path(), debugDescription: "binary payload, byte \(at): \(why)"))
    }

    @inlinable @inline(__always)
    func tag(_ at: Int, _ path: CodingPathFn) throws -> UInt8 {
        guard at < bytes.count else { throw truncated(at, path) }
        return bytes[at]
    }

    @usableFromInline
    func truncated(_ at: Int, _ path: CodingPathFn) -> DecodingError { corrupt(at, "truncated: a value expected", path) }

    @usableFromInline
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

    @usableFromInline
    func mismatch<T>(_ type: T.Type, _ t: UInt8, _ at: Int, _ path: CodingPathFn) -> DecodingError {
        .typeMismatch(T.self, .init(codingPath: path(), debugDescription: "binary payload, byte \(at): expected \(T.self), found \(tagName(t))"))
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
        let first = p.pointee.used
        let v = try T(from: BinaryDecoding(source: self, at: start, codingPath: codingPath()))
        // A keyed container of this value read in order to its `end`: every byte of it was read
        // and checked by the readers, so its end is known without a second scan.
        if first < p.pointee.used, p.pointee.starts[first] == start {
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
@usableFromInline
struct DecodingState {
    @usableFromInline var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
    /// Per keyed container (its `index`): the offset of the next field to read when fields are
    /// read in the order they were written (the usual case: no table, no scan), or `-1 - t` once
    /// a read out of order made `tables[t]`, the container's fields found in one scan.
    var cursors: [Int] = []
    /// Per keyed container, the offset of its `object` tag.
    var starts: [Int] = []
    /// How many entries of `cursors` and `starts` this decode uses (the rest are left from an
    /// earlier one).
    var used = 0
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
