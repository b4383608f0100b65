import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Reads values in Forkline's binary format (docs/codec.md) for a ``BinaryCodable`` type's
/// `init(from:)`, in place from the payload, with the same checks as the `Codable` path: a
/// truncated value, a wrong tag, a number that does not fit or invalid UTF-8 throws a
/// `DecodingError` naming the byte offset.
///
/// A struct reads its keyed container with ``beginKeyed()``, one ``BinaryKeyedReader/field(_:as:)``
/// per property, then ``endKeyed(_:)``. Valid during the `init(from:)` it was handed to only.
///
/// Its methods for keyed containers, conforming types and scalars are inlinable: a type's
/// `init(from:)` compiled in its own module reads its fields in place with no call per field
/// into this module (docs/codec.md, "Inlined into the type's module"); errors are built here.
public struct BinaryReader {
    @usableFromInline let source: DecodingSource
    /// The offset of the next value.
    @usableFromInline var at: Int
    /// Containers entered above this reader (a bound for damaged input to recursive types).
    @usableFromInline let depth: Int

    @usableFromInline
    init(source: DecodingSource, at: Int, depth: Int) {
        self.source = source
        self.at = at
        self.depth = depth
    }

    @usableFromInline
    static func noPath() -> [any CodingKey] { [] }

    // MARK: containers

    /// Starts reading the keyed container at the reader's position (a struct's fields).
    ///
    /// - Throws: `DecodingError.typeMismatch` when the value there is not a keyed container,
    ///   `dataCorrupted` when it is truncated or nested more than 512 deep.
    @inlinable
    public mutating func beginKeyed() throws -> BinaryKeyedReader {
        let bytes = source.bytes
        guard at < bytes.count, bytes[at] == BinaryFormat.object, depth < 512 else { throw notKeyed() }
        return BinaryKeyedReader(source: source, start: at, cursor: at + 1, depth: depth + 1)
    }

    /// Why the value at the reader's position cannot be read as a keyed container.
    @usableFromInline
    func notKeyed() -> any Error {
        let t: UInt8
        do { t = try source.tag(at, Self.noPath) } catch { return error }
        guard t == BinaryFormat.object else {
            return DecodingError.typeMismatch([String: Any].self, .init(codingPath: [], debugDescription: "binary payload, byte \(at): expected a keyed container, found \(source.tagName(t))"))
        }
        return source.corrupt(at, "containers nested more than 512 deep", Self.noPath)
    }

    /// Ends reading the keyed container `fields` (from ``beginKeyed()``): the fields not read are
    /// skipped, as the `Codable` path skips keys a type does not ask for, and the reader moves
    /// past the container's end.
    ///
    /// - Throws: `DecodingError.dataCorrupted` when the container is truncated or damaged.
    @inlinable
    public mutating func endKeyed(_ fields: BinaryKeyedReader) throws {
        let bytes = source.bytes, c = fields.cursor
        // Every field read in order: the end is at the cursor.
        if c < bytes.count, bytes[c] == BinaryFormat.end { at = c + 1 } else { at = try fields.end() }
    }

    /// Starts reading the unkeyed container at the reader's position (an array's elements):
    /// read values with `read` while ``endUnkeyed()`` is false.
    ///
    /// - Throws: `DecodingError.typeMismatch` when the value there is not an unkeyed container.
    public mutating func beginUnkeyed() throws -> BinaryReader {
        let t = try source.tag(at, Self.noPath)
        guard t == BinaryFormat.array else {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "binary payload, byte \(at): expected an unkeyed container, found \(source.tagName(t))"))
        }
        guard depth < 512 else { throw source.corrupt(at, "containers nested more than 512 deep", Self.noPath) }
        return BinaryReader(source: source, at: at + 1, depth: depth + 1)
    }

    /// True (and moves past it) at the end of the unkeyed container ``beginUnkeyed()`` returned
    /// this reader for; false before another element.
    ///
    /// - Throws: `DecodingError.dataCorrupted` when the container is truncated.
    public mutating func endUnkeyed() throws -> Bool {
        guard try source.tag(at, Self.noPath) == BinaryFormat.end else { return false }
        at += 1
        return true
    }

    /// Continues after the unkeyed container that `elements` (from ``beginUnkeyed()``) read to
    /// its end.
    public mutating func endUnkeyed(_ elements: BinaryReader) { at = elements.at }

    // MARK: values

    /// Reads a value of a conforming type.
    ///
    /// - Throws: `DecodingError` when the bytes are not such a value.
    @inlinable
    public mutating func read<T: BinaryCodable>(_: T.Type = T.self) throws -> T { try T(from: &self) }

    /// Reads a value of a type that is only `Codable`, through its `init(from: Decoder)`.
    ///
    /// - Throws: `DecodingError` when the bytes are not such a value.
    public mutating func read<T: Decodable>(_: T.Type = T.self) throws -> T {
        try source.value(T.self, at: &at, codingPath: Self.noPath)
    }

    /// True (and moves past it) when the next value is nil.
    ///
    /// - Throws: `DecodingError.dataCorrupted` when the payload ends here.
    @inlinable
    public mutating func readNil() throws -> Bool {
        guard try source.tag(at, Self.noPath) == BinaryFormat.null else { return false }
        at += 1
        return true
    }
    /// Reads a Bool.
    @inlinable
    public mutating func read(_: Bool.Type) throws -> Bool { try source.bool(&at, Self.noPath) }
    /// Reads a String (validated UTF-8).
    @inlinable
    public mutating func read(_: String.Type) throws -> String { try source.string(&at, Self.noPath) }
    /// Reads a Double (a Float is widened, as the `Codable` path does).
    @inlinable
    public mutating func read(_: Double.Type) throws -> Double { try source.double(&at, Self.noPath) }
    /// Reads a Float.
    @inlinable
    public mutating func read(_: Float.Type) throws -> Float { try source.float(&at, Self.noPath) }
    /// Reads an integer into any integer type it fits.
    @inlinable
    mutating func integer<I: FixedWidthInteger>(_: I.Type) throws -> I { try source.integer(I.self, &at, Self.noPath) }
    /// Reads bytes (`[UInt8]`, `Data`) in place: valid while the payload is.
    ///
    /// - Throws: `DecodingError.dataCorrupted` when the value is not bytes or is truncated.
    @inlinable
    public mutating func readBytes() throws -> UnsafeRawBufferPointer { try source.span(BinaryFormat.bytes, &at, Self.noPath) }
}

/// The fields of a keyed container being read by a ``BinaryCodable`` type (from
/// ``BinaryReader/beginKeyed()``). Fields asked for in the order they were written are read from
/// a cursor, with no scan; a field out of order is looked for from the container's start, as
/// the `Codable` path finds keys in any order.
public struct BinaryKeyedReader {
    @usableFromInline let source: DecodingSource
    /// The offset of the container's `object` tag.
    @usableFromInline let start: Int
    /// The offset of the next field in written order.
    @usableFromInline var cursor: Int
    @usableFromInline let depth: Int

    @usableFromInline
    init(source: DecodingSource, start: Int, cursor: Int, depth: Int) {
        self.source = source
        self.start = start
        self.cursor = cursor
        self.depth = depth
    }

    /// Reads the field `key` of a conforming type.
    ///
    /// - Throws: `DecodingError.keyNotFound` when there is no such field, or the error of its value.
    @inlinable
    public mutating func field<T: BinaryCodable>(_ key: StaticString, as: T.Type = T.self) throws -> T {
        // The usual case, inlined: the field at the cursor, read and the cursor moved past it.
        guard let value = keyAt(cursor, key) else { return try fieldElsewhere(key, T.self) }
        var r = BinaryReader(source: source, at: value, depth: depth)
        let v = try T(from: &r)
        cursor = r.at
        return v
    }

    /// The field `key` when it is not at the cursor: looked for from the container's start.
    @usableFromInline
    func fieldElsewhere<T: BinaryCodable>(_ key: StaticString, _: T.Type) throws -> T {
        guard let value = try scan(key) else { throw notFound(key) }
        var r = BinaryReader(source: source, at: value, depth: depth)
        return try T(from: &r)
    }

    /// Reads the field `key` of a type that is only `Codable`, through its `init(from: Decoder)`.
    ///
    /// - Throws: `DecodingError.keyNotFound` when there is no such field, or the error of its value.
    public mutating func field<T: Decodable>(_ key: StaticString, as: T.Type = T.self) throws -> T {
        guard let (value, atCursor) = try find(key) else { throw notFound(key) }
        var at = value
        let v = try source.value(T.self, at: &at, codingPath: BinaryReader.noPath)
        if atCursor { cursor = at }
        return v
    }

    /// Reads the field `key` if it is there and not nil, as synthesised `Codable` reads an
    /// optional property (`decodeIfPresent`).
    ///
    /// - Throws: the error of its value.
    @inlinable
    public mutating func fieldIfPresent<T: BinaryCodable>(_ key: StaticString, as: T.Type = T.self) throws -> T? {
        if let value = keyAt(cursor, key) {
            var r = BinaryReader(source: source, at: value, depth: depth)
            let v: T? = try r.readNil() ? nil : T(from: &r)
            cursor = r.at
            return v
        }
        return try fieldIfPresentElsewhere(key, T.self)
    }

    /// The optional field `key` when it is not at the cursor (nil when the container has none).
    @usableFromInline
    func fieldIfPresentElsewhere<T: BinaryCodable>(_ key: StaticString, _: T.Type) throws -> T? {
        guard let value = try scan(key) else { return nil }
        var r = BinaryReader(source: source, at: value, depth: depth)
        return try r.readNil() ? nil : T(from: &r)
    }

    /// Reads the field `key` (of a type that is only `Codable`) if it is there and not nil.
    ///
    /// - Throws: the error of its value.
    public mutating func fieldIfPresent<T: Decodable>(_ key: StaticString, as: T.Type = T.self) throws -> T? {
        guard let (value, atCursor) = try find(key) else { return nil }
        var r = BinaryReader(source: source, at: value, depth: depth)
        let v: T? = try r.readNil() ? nil : source.value(T.self, at: &r.at, codingPath: BinaryReader.noPath)
        if atCursor { cursor = r.at }
        return v
    }

    /// True when the container has the field `key`.
    public func contains(_ key: StaticString) -> Bool { ((try? find(key)) ?? nil) != nil }

    @usableFromInline
    func notFound(_ key: StaticString) -> DecodingError {
        let name = key.description
        return .keyNotFound(BinaryFieldKey(stringValue: name), .init(codingPath: [], debugDescription: "binary payload, keyed container at byte \(start): no field '\(name)'"))
    }

    /// The value offset of field `key` and whether it was the field at the cursor; nil when the
    /// container has no such field.
    func find(_ key: StaticString) throws -> (Int, Bool)? {
        if let v = keyAt(cursor, key) { return (v, true) }
        return try scan(key).map { ($0, false) }
    }

    /// The value offset of the first field `key`, looked for from the container's start (out of
    /// order, missing, or the end), as the Codable path's table finds it; nil when there is none.
    @usableFromInline
    func scan(_ key: StaticString) throws -> Int? {
        var i = start + 1
        let bytes = source.bytes
        while true {
            guard i < bytes.count else { throw source.corrupt(start, "truncated keyed container: no end", BinaryReader.noPath) }
            if bytes[i] == BinaryFormat.end { return nil }
            let k = try source.span(BinaryFormat.string, &i, BinaryReader.noPath)
            if same(k, key) { return i }
            i = try source.skip(i, BinaryReader.noPath, depth: depth)
        }
    }

    /// The value offset of the field at `c` if its key is `key` (a key shorter than 128 bytes;
    /// a longer one is left to the scan).
    @inlinable @inline(__always)
    func keyAt(_ c: Int, _ key: StaticString) -> Int? {
        let bytes = source.bytes
        guard c + 1 < bytes.count, bytes[c] == BinaryFormat.string else { return nil }
        let n = Int(bytes[c + 1]), k = c + 2
        // A one-byte length (< 0x80) within the payload; a longer key is left to the scan.
        guard n < 0x80, n <= bytes.count - k else { return nil }
        return key.withUTF8Buffer { u in
            guard u.count == n else { return nil }
            var j = 0
            while j < n {
                if u[j] != bytes[k + j] { return nil }
                j += 1
            }
            return k + n
        }
    }

    @inline(__always)
    func same(_ b: UnsafeRawBufferPointer, _ key: StaticString) -> Bool {
        key.withUTF8Buffer { u in u.count == b.count && (b.count == 0 || memcmp(u.baseAddress!, b.baseAddress!, b.count) == 0) }
    }

    /// The offset just past the container: the fields after the cursor are skipped (and checked).
    @usableFromInline
    func end() throws -> Int {
        var i = cursor
        let bytes = source.bytes
        while true {
            guard i < bytes.count else { throw source.corrupt(start, "truncated keyed container: no end", BinaryReader.noPath) }
            if bytes[i] == BinaryFormat.end { return i + 1 }
            guard bytes[i] == BinaryFormat.string else { throw source.corrupt(i, "a key expected, found \(source.tagName(bytes[i]))", BinaryReader.noPath) }
            _ = try source.span(BinaryFormat.string, &i, BinaryReader.noPath)
            i = try source.skip(i, BinaryReader.noPath, depth: depth)
        }
    }
}

/// The key of a field a ``BinaryKeyedReader`` did not find (for `DecodingError.keyNotFound`).
struct BinaryFieldKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
