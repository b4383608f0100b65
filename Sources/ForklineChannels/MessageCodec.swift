import FoundationEssentials

/// How a Connection or a queue turns values into bytes, chosen by measurement (docs/channels.md,
/// docs/codec.md): a value of a plain-data type (`_isPOD`: integers, floats, structs and enums of
/// them) is copied as its bytes, a `String` as UTF-8 and `[UInt8]` and `Data` as they are; a
/// ``JSONCoded`` value is JSON; anything else is the binary codec (``BinaryEncoder``). The type
/// tag travels with the message, so a reader never guesses. Inlinable, so a `Queue<Int>` in the
/// user's module is specialised and its plain-data path is a copy.
@usableFromInline
enum MessageCodec {
    /// Payload type tags.
    @usableFromInline static let bytes: UInt32 = 0, json: UInt32 = 1, plain: UInt32 = 2, utf8: UInt32 = 3, binary: UInt32 = 4

    /// Calls `body` with the encoding of `value` and its type tag. `label` names the channel in
    /// an error and is made only then: a Connection's is built from its id, descriptor and peer,
    /// ~4,700 instructions, once on every send and receive when it was a `String` (callgrind of
    /// an in-process send + receive of an `Int`).
    ///
    /// - Throws: ``ChannelError`` `encoding` when the value cannot be encoded.
    @inlinable
    static func withEncoded<T: Encodable>(_ value: T, label: @autoclosure () -> String, _ body: (UnsafeRawBufferPointer, UInt32) -> Void) throws(ChannelError) {
        if _isPOD(T.self) {
            var v = value
            withUnsafeBytes(of: &v) { body($0, plain) }
        } else if T.self == String.self {
            var s = unsafeBitCast(value, to: String.self)
            s.withUTF8 { body(UnsafeRawBufferPointer($0), utf8) }
        } else if T.self == [UInt8].self {
            unsafeBitCast(value, to: [UInt8].self).withUnsafeBytes { body($0, bytes) }
        } else if T.self == Data.self {
            (value as! Data).withUnsafeBytes { body($0, bytes) }
        } else {
            // The binary codec, in its reused buffer; a `JSONCoded` message comes back as JSON
            // (no dynamic cast to find it: its `encode(to:)` tells the encoder).
            do {
                try BinaryEncoder.withPayload(value, message: true) { b, isJSON in body(b, isJSON ? json : binary) }
            } catch {
                throw ChannelError(.encoding, "\(label()): cannot encode \(T.self): \(error)")
            }
        }
    }

    /// Decodes a payload of type tag `type` as a `T`; `label` is made only for an error.
    @inlinable
    static func decode<T: Decodable>(_ b: UnsafeRawBufferPointer, type: UInt32, as: T.Type, label: @autoclosure () -> String) throws(ChannelError) -> T {
        if type == plain && _isPOD(T.self) && b.count == MemoryLayout<T>.size {
            return b.count == 0 ? unsafeBitCast((), to: T.self) : b.loadUnaligned(as: T.self)
        }
        if type == utf8 && T.self == String.self {
            // Invalid UTF-8 is a bad message, not a string to repair with U+FFFD.
            guard let s = String(validating: b.bindMemory(to: UInt8.self), as: UTF8.self) else {
                throw ChannelError(.encoding, "\(label()): the String message (\(b.count) bytes) is not valid UTF-8")
            }
            return unsafeBitCast(s, to: T.self)
        }
        if type == bytes && T.self == [UInt8].self { return unsafeBitCast(Array(b), to: T.self) }
        if type == bytes && T.self == Data.self { return Data(b) as! T }
        if type == binary {
            do { return try BinaryDecoder().decode(T.self, from: b) } catch {
                throw ChannelError(.encoding, "\(label()): the message is not a \(T.self): \(error)")
            }
        }
        if type == json {
            do { return try JSONDecoder().decode(T.self, from: Data(b)) } catch {
                throw ChannelError(.encoding, "\(label()): the message is not a \(T.self): \(error)")
            }
        }
        throw ChannelError(.encoding, "\(label()): the message (\(b.count) bytes, encoding \(type)) is not a \(T.self)")
    }

    /// Decodes a payload held in an array.
    @inlinable
    static func decode<T: Decodable>(_ a: [UInt8], type: UInt32, as: T.Type, label: @autoclosure () -> String) throws(ChannelError) -> T {
        var result: Result<T, ChannelError>!
        a.withUnsafeBytes { b in
            do throws(ChannelError) { result = .success(try decode(b, type: type, as: T.self, label: label())) } catch { result = .failure(error) }
        }
        return try result.get()
    }
}
