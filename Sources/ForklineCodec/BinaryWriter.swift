import FoundationEssentials

/// Writes values in Forkline's binary format (docs/codec.md) for a ``BinaryCodable`` type's
/// `encode(to:)`: into the encode's one reused buffer, in order, with no container object.
///
/// A struct is a keyed container: ``beginKeyed()``, one ``field(_:_:)`` (or
/// ``fieldIfPresent(_:_:)`` for an optional) per stored property in declaration order, then
/// ``endKeyed()``; that is what its synthesised `Codable` writes. Valid during the `encode(to:)`
/// it was handed to only.
///
/// Its methods for conforming types and scalars are inlinable: a type's `encode(to:)` compiled in
/// its own module writes its fields straight into the buffer, with no call per field into this
/// module and no generic dispatch (docs/codec.md, "Inlined into the type's module").
public struct BinaryWriter {
    @usableFromInline let state: LinearEncoding

    @usableFromInline init(state: LinearEncoding) { self.state = state }

    // MARK: containers

    /// Opens a keyed container (a struct's fields follow, each a ``field(_:_:)``).
    @inlinable
    public mutating func beginKeyed() { state.append(BinaryFormat.object) }

    /// Ends the keyed container ``beginKeyed()`` opened.
    @inlinable
    public mutating func endKeyed() { state.append(BinaryFormat.end) }

    /// Opens an unkeyed container (values follow, each a `write`), as an array's `Codable` writes.
    @inlinable
    public mutating func beginUnkeyed() { state.append(BinaryFormat.array) }

    /// Ends the unkeyed container ``beginUnkeyed()`` opened.
    @inlinable
    public mutating func endUnkeyed() { state.append(BinaryFormat.end) }

    /// Writes a field's key; its value must follow.
    @inlinable
    public mutating func key(_ key: StaticString) {
        key.withUTF8Buffer { state.raw(BinaryFormat.string, UnsafeRawBufferPointer($0)) }
    }

    /// Writes the field `key` with `value`, in an open keyed container.
    ///
    /// - Throws: what the value's `encode(to:)` throws.
    @inlinable
    public mutating func field<T: BinaryCodable>(_ key: StaticString, _ value: T) throws {
        self.key(key)
        try value.encode(to: &self)
    }

    /// Writes the field `key` with `value` of a type that is only `Codable`, through its
    /// `encode(to: Encoder)` into the same payload.
    ///
    /// - Throws: what the value's `encode(to:)` throws.
    public mutating func field<T: Encodable>(_ key: StaticString, _ value: T) throws {
        self.key(key)
        try self.write(value)
    }

    /// Writes the field `key` if `value` is not nil, as synthesised `Codable` writes an optional
    /// property (`encodeIfPresent`): a nil leaves the field out.
    ///
    /// - Throws: what the value's `encode(to:)` throws.
    @inlinable
    public mutating func fieldIfPresent<T: BinaryCodable>(_ key: StaticString, _ value: T?) throws {
        guard let value else { return }
        try field(key, value)
    }

    /// Writes the field `key` if `value` (of a type that is only `Codable`) is not nil.
    ///
    /// - Throws: what the value's `encode(to:)` throws.
    public mutating func fieldIfPresent<T: Encodable>(_ key: StaticString, _ value: T?) throws {
        guard let value else { return }
        try field(key, value)
    }

    // MARK: values

    /// Writes a conforming value.
    ///
    /// - Throws: what the value's `encode(to:)` throws.
    @inlinable
    public mutating func write<T: BinaryCodable>(_ value: T) throws { try value.encode(to: &self) }

    /// Writes a value of a type that is only `Codable`, through its `encode(to: Encoder)`.
    ///
    /// - Throws: what the value's `encode(to:)` throws.
    public mutating func write<T: Encodable>(_ value: T) throws { try state.value(value, key: nil) }

    /// Writes nil (an optional's `nil` in an array, or a field written with `encodeNil`).
    @inlinable
    public mutating func writeNil() { state.append(BinaryFormat.null) }
    /// Writes a Bool.
    @inlinable
    public mutating func write(_ v: Bool) { state.bool(v) }
    /// Writes a String as its UTF-8.
    @inlinable
    public mutating func write(_ v: String) { state.string(v) }
    /// Writes a Double (8 bytes).
    @inlinable
    public mutating func write(_ v: Double) { state.double(v) }
    /// Writes a Float (4 bytes).
    @inlinable
    public mutating func write(_ v: Float) { state.float(v) }
    /// Writes a signed integer (zigzag LEB128).
    @inlinable
    public mutating func write(_ v: Int) { state.int(Int64(v)) }
    /// Writes a signed integer (zigzag LEB128).
    @inlinable
    public mutating func write(_ v: Int8) { state.int(Int64(v)) }
    /// Writes a signed integer (zigzag LEB128).
    @inlinable
    public mutating func write(_ v: Int16) { state.int(Int64(v)) }
    /// Writes a signed integer (zigzag LEB128).
    @inlinable
    public mutating func write(_ v: Int32) { state.int(Int64(v)) }
    /// Writes a signed integer (zigzag LEB128).
    @inlinable
    public mutating func write(_ v: Int64) { state.int(v) }
    /// Writes an unsigned integer (LEB128).
    @inlinable
    public mutating func write(_ v: UInt) { state.uint(UInt64(v)) }
    /// Writes an unsigned integer (LEB128).
    @inlinable
    public mutating func write(_ v: UInt8) { state.uint(UInt64(v)) }
    /// Writes an unsigned integer (LEB128).
    @inlinable
    public mutating func write(_ v: UInt16) { state.uint(UInt64(v)) }
    /// Writes an unsigned integer (LEB128).
    @inlinable
    public mutating func write(_ v: UInt32) { state.uint(UInt64(v)) }
    /// Writes an unsigned integer (LEB128).
    @inlinable
    public mutating func write(_ v: UInt64) { state.uint(v) }
    /// Writes bytes (`[UInt8]`, `Data`) as they are.
    @inlinable
    public mutating func writeBytes(_ bytes: UnsafeRawBufferPointer) { state.raw(BinaryFormat.bytes, bytes) }

    /// Writes `value` by the byte and number-array fast paths if its type has one; false if not.
    mutating func writeFast<T: Encodable>(_ value: T) -> Bool { state.fastValue(value) }
}
