import FoundationEssentials

/// How a queue turns values into bytes, chosen by measurement (docs/channels.md): a value of a
/// plain-data type (`_isPOD`: integers, floats, structs and enums of them) is copied as its bytes,
/// a `String` as UTF-8 and `[UInt8]` as is; anything else is JSON. The type tag travels with the
/// message, so a reader never guesses.
enum MessageCodec {
    /// Payload type tags.
    static let bytes: UInt32 = 0, json: UInt32 = 1, plain: UInt32 = 2, utf8: UInt32 = 3

    /// Calls `body` with the encoding of `value` and its type tag.
    static func withEncoded<T: Encodable, R>(_ value: T, label: String,
                                             _ body: (UnsafeRawBufferPointer, UInt32) throws(ChannelError) -> R) throws(ChannelError) -> R {
        if _isPOD(T.self) {
            var v = value
            return try withUnsafeBytes(of: &v) { b in Result { () throws(ChannelError) -> R in try body(b, plain) } }.get()
        }
        if var s = value as? String {
            return try s.withUTF8 { u in Result { () throws(ChannelError) -> R in try body(UnsafeRawBufferPointer(u), utf8) } }.get()
        }
        if let a = value as? [UInt8] {
            return try a.withUnsafeBytes { b in Result { () throws(ChannelError) -> R in try body(b, bytes) } }.get()
        }
        let data: Data
        do { data = try JSONEncoder().encode(value) } catch {
            throw ChannelError(.encoding, "\(label): cannot encode \(T.self): \(error)")
        }
        return try data.withUnsafeBytes { b in Result { () throws(ChannelError) -> R in try body(b, json) } }.get()
    }

    /// Decodes a payload of type tag `type` as a `T`.
    static func decode<T: Decodable>(_ b: UnsafeRawBufferPointer, type: UInt32, as: T.Type, label: String) throws(ChannelError) -> T {
        switch type {
        case plain where _isPOD(T.self) && b.count == MemoryLayout<T>.size:
            return withUnsafeTemporaryAllocation(of: T.self, capacity: 1) { t in
                if b.count > 0 { UnsafeMutableRawPointer(t.baseAddress!).copyMemory(from: b.baseAddress!, byteCount: b.count) }
                return t.baseAddress!.move()
            }
        case utf8 where T.self == String.self:
            return String(decoding: b, as: UTF8.self) as! T
        case bytes where T.self == [UInt8].self:
            return Array(b) as! T
        case json:
            do { return try JSONDecoder().decode(T.self, from: Data(b)) } catch {
                throw ChannelError(.encoding, "\(label): the message is not a \(T.self): \(error)")
            }
        default:
            throw ChannelError(.encoding, "\(label): the message (\(b.count) bytes, encoding \(type)) is not a \(T.self)")
        }
    }
}
