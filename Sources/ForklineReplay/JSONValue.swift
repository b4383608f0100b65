import FoundationEssentials

/// Any JSON value, for reading JSON Lines traces.
enum JSONValue: Decodable, Sendable, Hashable {
    case number(Double)
    case integer(Int64)
    case unsigned(UInt64)
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int64.self) { self = .integer(i) }
        else if let u = try? c.decode(UInt64.self) { self = .unsigned(u) }
        else if let d = try? c.decode(Double.self) { self = .number(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    subscript(key: String) -> JSONValue? { if case .object(let o) = self { o[key] } else { nil } }

    var int: Int64? {
        switch self {
        case .integer(let i): i
        case .unsigned(let u): Int64(exactly: u)
        case .number(let d): Int64(exactly: d)
        default: nil
        }
    }

    /// A u64 given as a number, a 16-digit hex string or a "0x" hex string.
    var u64: UInt64? {
        switch self {
        case .integer(let i): UInt64(exactly: i)
        case .unsigned(let u): u
        case .number(let d): UInt64(exactly: d)
        case .string(let s): UInt64(s.hasPrefix("0x") ? String(s.dropFirst(2)) : s, radix: 16)
        default: nil
        }
    }

    var string: String? { if case .string(let s) = self { s } else { nil } }
}
