import FoundationEssentials

/// A value that travels as JSON where Forkline would otherwise use its binary codec: for a peer
/// that reads JSON (a message on a Connection another program reads), or for a type whose
/// `Codable` conformance only JSON handles the way it expects.
///
/// ```swift
/// try connection.send(JSONCoded(order))              // the frame holds {"id":1,...}
/// let order = try connection.receive(JSONCoded<Order>.self)?.value
/// ```
///
/// As a message, the whole frame is the value's JSON. Inside another value encoded in the
/// binary codec (a field, a pool input) it is a String holding the JSON; under any other encoder
/// it is the value itself.
public struct JSONCoded<Value: Codable>: Codable {
    /// The wrapped value.
    public var value: Value

    /// Wraps `value`.
    public init(_ value: Value) { self.value = value }

    public init(from decoder: any Decoder) throws {
        if decoder is BinaryDecoding {
            let json = try decoder.singleValueContainer().decode(String.self)
            value = try JSONDecoder().decode(Value.self, from: Data(json.utf8))
        } else {
            value = try decoder.singleValueContainer().decode(Value.self)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        if let binary = encoder as? BinaryEncoding, binary.isMessage {
            // The whole value of a message: the frame is the JSON (type 1), not a binary payload.
            binary.state.p.pointee.json = try JSONEncoder().encode(value)
            return
        }
        var c = encoder.singleValueContainer()
        if encoder is BinaryEncoding || encoder is TreeEncoding {
            try c.encode(String(decoding: try JSONEncoder().encode(value), as: UTF8.self))
        } else {
            try c.encode(value)
        }
    }
}

extension JSONCoded: Sendable where Value: Sendable {}
extension JSONCoded: Equatable where Value: Equatable {}
