import FoundationEssentials

// The standard types' `BinaryCodable` conformances: each writes what its `Codable` conformance
// writes through ``BinaryEncoder`` (docs/codec.md), and reads what that path reads (an integer
// into any integer type it fits, a Float as a Double, `[UInt8]` written element by element).
// The scalars' and Optional's are inlinable, so a struct's field of such a type is written and
// read in the struct's own module with no call into this one.

extension Int: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(Int.self) }
}
extension Int8: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(Int8.self) }
}
extension Int16: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(Int16.self) }
}
extension Int32: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(Int32.self) }
}
extension Int64: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(Int64.self) }
}
extension UInt: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(UInt.self) }
}
extension UInt8: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(UInt8.self) }
}
extension UInt16: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(UInt16.self) }
}
extension UInt32: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(UInt32.self) }
}
extension UInt64: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.integer(UInt64.self) }
}
extension Bool: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.read(Bool.self) }
}
extension Double: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.read(Double.self) }
}
extension Float: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.read(Float.self) }
}
extension String: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { writer.write(self) }
    @inlinable public init(from reader: inout BinaryReader) throws { self = try reader.read(String.self) }
}
extension Data: BinaryCodable {
    @inlinable public func encode(to writer: inout BinaryWriter) { withUnsafeBytes { writer.writeBytes($0) } }
    @inlinable public init(from reader: inout BinaryReader) throws { self = Data(try reader.readBytes()) }
}

extension Optional: BinaryCodable where Wrapped: BinaryCodable {
    /// Writes nil, or the wrapped value (as `Optional`'s `Codable` does through a single-value
    /// container). A struct's optional field is left out when nil instead:
    /// ``BinaryWriter/fieldIfPresent(_:_:)``.
    @inlinable public func encode(to writer: inout BinaryWriter) throws {
        if let self { try self.encode(to: &writer) } else { writer.writeNil() }
    }
    @inlinable public init(from reader: inout BinaryReader) throws {
        self = try reader.readNil() ? nil : Wrapped(from: &reader)
    }
}

extension Array: BinaryCodable where Element: BinaryCodable {
    /// Writes `[UInt8]` as bytes and arrays of fixed-size numbers as their memory image (the
    /// codec's fast paths), any other array as an unkeyed container of its elements.
    public func encode(to writer: inout BinaryWriter) throws {
        if writer.writeFast(self) { return }
        writer.beginUnkeyed()
        for e in self { try e.encode(to: &writer) }
        writer.endUnkeyed()
    }
    public init(from reader: inout BinaryReader) throws {
        if FastType.kind(Self.self) != nil {
            // `[UInt8]`, `[Int]`, ...: the bytes or number image, or elements one by one.
            self = try reader.source.value(Self.self, at: &reader.at, codingPath: BinaryReader.noPath)
            return
        }
        var elements = try reader.beginUnkeyed()
        var a: [Element] = []
        while try !elements.endUnkeyed() { a.append(try Element(from: &elements)) }
        reader.endUnkeyed(elements)
        self = a
    }
}
