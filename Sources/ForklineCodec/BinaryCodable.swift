import FoundationEssentials

/// A type that writes and reads itself in Forkline's binary format (docs/codec.md) with its own
/// code, instead of through `Codable`'s containers.
///
/// The codec checks for this conformance first (``BinaryEncoder``, ``BinaryDecoder``, Connection
/// and Queue messages, pool inputs and outputs): a conforming type pays none of `Codable`'s
/// per-container boxes, metadata look-ups and per-field dynamic dispatch. The bytes are the
/// ones its `Codable` conformance writes (format version 1, unchanged), so a peer or an older
/// trace that only knows the `Codable` conformance reads them, and this type reads theirs. That
/// holds as long as the two conformances agree: the same keys, in the same order, an optional
/// that is `nil` left out (as synthesised `Codable` leaves it out).
///
/// The standard scalars, `String`, `[UInt8]`, `Data`, and arrays and optionals of conforming
/// types conform. A struct conforms with a keyed container of its fields, written in the order
/// of its synthesised `Codable` (its stored properties, under their names):
///
/// ```swift
/// struct Order: BinaryCodable {
///     var id: Int
///     var price: Double
///     var note: String?
///
///     func encode(to writer: inout BinaryWriter) throws {
///         writer.beginKeyed()
///         try writer.field("id", id)
///         try writer.field("price", price)
///         try writer.fieldIfPresent("note", note)
///         writer.endKeyed()
///     }
///     init(from reader: inout BinaryReader) throws {
///         var fields = try reader.beginKeyed()
///         id = try fields.field("id")
///         price = try fields.field("price")
///         note = try fields.fieldIfPresent("note")
///         try reader.endKeyed(fields)
///     }
/// }
/// ```
///
/// A field whose type is only `Codable` goes through `Codable` inside the same payload.
public protocol BinaryCodable: Codable {
    /// Writes this value, as its `encode(to: Encoder)` would, into `writer`.
    ///
    /// - Throws: what a field encoded through `Codable` throws.
    func encode(to writer: inout BinaryWriter) throws

    /// Reads a value, as its `init(from: Decoder)` would, from `reader`.
    ///
    /// - Throws: `DecodingError` when the bytes are not such a value: `typeMismatch`,
    ///   `keyNotFound`, or `dataCorrupted` naming the byte offset (truncated, unknown tag, ...).
    init(from reader: inout BinaryReader) throws
}

extension BinaryEncoder {
    /// The binary payload of `value`, written by its own ``BinaryCodable`` code.
    ///
    /// - Throws: what the value's `encode(to:)` throws.
    public func encode<T: BinaryCodable>(_ value: T) throws -> [UInt8] {
        try Self.withBinaryPayload(value) { Array($0) }
    }

    /// Calls `body` with the payload of a ``BinaryCodable`` value, lent from this thread's reused
    /// buffer (valid during the call only).
    static func withBinaryPayload<T: BinaryCodable, R>(_ value: T, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let s = LinearEncoding.take()
        defer { s.give() }
        s.append(BinaryFormat.magic)
        s.append(BinaryFormat.version)
        var writer = BinaryWriter(state: s)
        try value.encode(to: &writer)
        _ = s.reach(0)
        if s.outOfOrder {
            // A field encoded through Codable wrote out of order: the general encoder places it
            // (the same bytes; docs/codec.md, "Out of order").
            let tree = try TreeEncoder.encode(value)
            return try tree.withUnsafeBytes { try body($0) }
        }
        return try body(UnsafeRawBufferPointer(start: s.p.pointee.base, count: s.p.pointee.count))
    }

    /// `value`'s ``BinaryCodable`` payload, its type `T` being `type` (``BinaryConformance/of(_:)``).
    ///
    /// It returns `R`, not `R?`: in the unspecialised generic code an `Optional<R>` costs a
    /// generic metadata look-up a call (~450 instructions, callgrind; docs/codec.md).
    static func withBinaryPayload<T: Encodable, R>(_ value: T, as type: any BinaryCodable.Type, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        func open<B: BinaryCodable>(_: B.Type) throws -> R {
            try withBinaryPayload(unsafeBitCast(value, to: B.self), body)
        }
        return try open(type)
    }
}

extension BinaryDecoder {
    /// Decodes a `T` from a whole binary payload with its own ``BinaryCodable`` code.
    ///
    /// - Throws: `DecodingError` when `bytes` is not the payload of a `T`.
    public func decode<T: BinaryCodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try Self.decodeBinary(T.self, from: $0) }
    }

    /// Decodes a `T` with its own ``BinaryCodable`` code from a whole binary payload in memory
    /// that stays valid during the call.
    ///
    /// - Throws: `DecodingError` when `bytes` is not the payload of a `T`.
    public func decode<T: BinaryCodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        try Self.decodeBinary(T.self, from: bytes)
    }

    static func decodeBinary<T: BinaryCodable>(_: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        let s = DecodingSource.take(bytes)
        defer { s.give() }
        try s.header()
        var reader = BinaryReader(source: s, at: 2, depth: 0)
        let v = try T(from: &reader)
        guard reader.at == bytes.count else {
            throw s.corrupt(reader.at, "\(bytes.count - reader.at) bytes after the \(T.self) value", { [] })
        }
        return v
    }

    /// A `T` decoded by its ``BinaryCodable`` code, `T` being `type` (``BinaryConformance/of(_:)``);
    /// a `T`, not a `T?`, for the reason ``BinaryEncoder/withBinaryPayload(_:as:_:)`` gives.
    static func decodeBinary<T: Decodable>(_: T.Type, as type: any BinaryCodable.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        func open<B: BinaryCodable>(_: B.Type) throws -> T {
            unsafeBitCast(try decodeBinary(B.self, from: bytes), to: T.self)
        }
        return try open(type)
    }
}
