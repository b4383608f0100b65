import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The fields of an `object` value, found in one scan: each key's bytes and its value's offset.
struct BinaryKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let source: DecodingSource
    var codingPath: [any CodingKey]
    /// (key offset, key length, value offset) per field, in the payload's order.
    let fields: [(key: Int, length: Int, value: Int)]
    /// Where the next look-up starts: fields are usually asked for in the order they were written.
    let hint = Hint()
    final class Hint { var next = 0 }

    init(source: DecodingSource, at: Int, codingPath: [any CodingKey]) throws {
        self.source = source
        self.codingPath = codingPath
        let t = try source.tag(at, codingPath)
        guard t == BinaryFormat.object else {
            throw DecodingError.typeMismatch([String: Any].self, .init(codingPath: codingPath, debugDescription: "binary payload, byte \(at): expected a keyed container, found \(source.tagName(t))"))
        }
        var fields: [(key: Int, length: Int, value: Int)] = []
        var i = at + 1
        while true {
            guard i < source.bytes.count else { throw source.corrupt(at, "truncated keyed container: no end", codingPath) }
            if source.bytes[i] == BinaryFormat.end { break }
            let k = try source.span(BinaryFormat.string, &i, codingPath)
            let keyAt = k.baseAddress! - source.bytes.baseAddress!
            fields.append((keyAt, k.count, i))
            i = try source.skip(i, codingPath)
        }
        self.fields = fields
    }

    func matches(_ f: (key: Int, length: Int, value: Int), _ key: Key) -> Bool {
        var s = key.stringValue
        return s.withUTF8 { k in
            k.count == f.length && (f.length == 0 || memcmp(k.baseAddress!, source.bytes.baseAddress! + f.key, f.length) == 0)
        }
    }

    func find(_ key: Key) -> Int? {
        let n = fields.count
        guard n > 0 else { return nil }
        var i = hint.next < n ? hint.next : 0
        for _ in 0..<n {
            if matches(fields[i], key) { return i }
            i = i + 1 == n ? 0 : i + 1
        }
        return nil
    }

    func at(_ key: Key) throws -> Int {
        guard let i = find(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "binary payload: no field '\(key.stringValue)'"))
        }
        hint.next = i + 1
        return fields[i].value
    }

    var allKeys: [Key] {
        fields.compactMap { f in
            let b = UnsafeRawBufferPointer(rebasing: source.bytes[f.key..<(f.key + f.length)])
            return Key(stringValue: String(decoding: b, as: UTF8.self))
        }
    }
    func contains(_ key: Key) -> Bool { find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        let v = try at(key)
        return source.bytes[v] == BinaryFormat.null
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { var v = try at(key); return try source.bool(&v, codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { var v = try at(key); return try source.string(&v, codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { var v = try at(key); return try source.double(&v, codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { var v = try at(key); return try source.float(&v, codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { var v = try at(key); return try source.integer(Int.self, &v, codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { var v = try at(key); return try source.integer(Int8.self, &v, codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { var v = try at(key); return try source.integer(Int16.self, &v, codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { var v = try at(key); return try source.integer(Int32.self, &v, codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { var v = try at(key); return try source.integer(Int64.self, &v, codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { var v = try at(key); return try source.integer(UInt.self, &v, codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { var v = try at(key); return try source.integer(UInt8.self, &v, codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { var v = try at(key); return try source.integer(UInt16.self, &v, codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { var v = try at(key); return try source.integer(UInt32.self, &v, codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { var v = try at(key); return try source.integer(UInt64.self, &v, codingPath + [key]) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        var v = try at(key)
        return try source.value(T.self, at: &v, codingPath: codingPath + [key])
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try BinaryKeyedDecoding<NestedKey>(source: source, at: try at(key), codingPath: codingPath + [key]))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try BinaryUnkeyedDecoding(source: source, at: try at(key), codingPath: codingPath + [key])
    }
    func superDecoder() throws -> any Decoder {
        guard let i = fields.firstIndex(where: { f in f.length == 5 && memcmp(source.bytes.baseAddress! + f.key, "super", 5) == 0 }) else {
            throw DecodingError.keyNotFound(BinaryIndexKey(0), .init(codingPath: codingPath, debugDescription: "binary payload: no field 'super'"))
        }
        return BinaryDecoding(source: source, at: fields[i].value, codingPath: codingPath)
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        BinaryDecoding(source: source, at: try at(key), codingPath: codingPath + [key])
    }
}

/// A coding key for an element of an unkeyed container.
struct BinaryIndexKey: CodingKey {
    var intValue: Int?
    var stringValue: String { intValue.map { "Index \($0)" } ?? "" }
    init(_ i: Int) { intValue = i }
    init?(stringValue: String) { return nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// The values of an `array` value, read in order.
struct BinaryUnkeyedDecoding: UnkeyedDecodingContainer {
    let source: DecodingSource
    var codingPath: [any CodingKey]
    var cursor: Int
    var currentIndex = 0
    let count: Int?

    init(source: DecodingSource, at: Int, codingPath: [any CodingKey]) throws {
        self.source = source
        self.codingPath = codingPath
        let t = try source.tag(at, codingPath)
        guard t == BinaryFormat.array else {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "binary payload, byte \(at): expected an unkeyed container, found \(source.tagName(t))"))
        }
        // Count the elements (and check the container is whole) before the first is decoded.
        var i = at + 1, n = 0
        while true {
            guard i < source.bytes.count else { throw source.corrupt(at, "truncated unkeyed container: no end", codingPath) }
            if source.bytes[i] == BinaryFormat.end { break }
            i = try source.skip(i, codingPath)
            n += 1
        }
        count = n
        cursor = at + 1
    }

    var isAtEnd: Bool { currentIndex >= count! }
    var path: [any CodingKey] { codingPath + [BinaryIndexKey(currentIndex)] }

    mutating func check() throws {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: path, debugDescription: "binary payload: the unkeyed container has only \(count!) elements"))
        }
    }
    mutating func take<T>(_ reader: (inout Int, [any CodingKey]) throws -> T) throws -> T {
        try check()
        let v = try reader(&cursor, path)
        currentIndex += 1
        return v
    }

    mutating func decodeNil() throws -> Bool {
        try check()
        guard source.bytes[cursor] == BinaryFormat.null else { return false }
        cursor += 1
        currentIndex += 1
        return true
    }
    mutating func decode(_ type: Bool.Type) throws -> Bool { try take(source.bool) }
    mutating func decode(_ type: String.Type) throws -> String { try take(source.string) }
    mutating func decode(_ type: Double.Type) throws -> Double { try take(source.double) }
    mutating func decode(_ type: Float.Type) throws -> Float { try take(source.float) }
    mutating func decode(_ type: Int.Type) throws -> Int { let s = source; return try take { try s.integer(Int.self, &$0, $1) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let s = source; return try take { try s.integer(Int8.self, &$0, $1) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let s = source; return try take { try s.integer(Int16.self, &$0, $1) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let s = source; return try take { try s.integer(Int32.self, &$0, $1) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let s = source; return try take { try s.integer(Int64.self, &$0, $1) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let s = source; return try take { try s.integer(UInt.self, &$0, $1) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let s = source; return try take { try s.integer(UInt8.self, &$0, $1) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let s = source; return try take { try s.integer(UInt16.self, &$0, $1) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let s = source; return try take { try s.integer(UInt32.self, &$0, $1) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let s = source; return try take { try s.integer(UInt64.self, &$0, $1) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let s = source; return try take { try s.value(T.self, at: &$0, codingPath: $1) }
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let s = source
        return try take { at, p in
            let c = try BinaryKeyedDecoding<NestedKey>(source: s, at: at, codingPath: p)
            at = try s.skip(at, p)
            return KeyedDecodingContainer(c)
        }
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let s = source
        return try take { at, p in
            let c = try BinaryUnkeyedDecoding(source: s, at: at, codingPath: p)
            at = try s.skip(at, p)
            return c
        }
    }
    mutating func superDecoder() throws -> any Decoder {
        let s = source
        return try take { at, p in
            let d = BinaryDecoding(source: s, at: at, codingPath: p)
            at = try s.skip(at, p)
            return d
        }
    }
}

/// The one value at `at`.
struct BinarySingleDecoding: SingleValueDecodingContainer {
    let source: DecodingSource
    let at: Int
    var codingPath: [any CodingKey]

    func value<T>(_ r: (inout Int, [any CodingKey]) throws -> T) throws -> T {
        var i = at
        return try r(&i, codingPath)
    }
    func decodeNil() -> Bool { at < source.bytes.count && source.bytes[at] == BinaryFormat.null }
    func decode(_ type: Bool.Type) throws -> Bool { try value(source.bool) }
    func decode(_ type: String.Type) throws -> String { try value(source.string) }
    func decode(_ type: Double.Type) throws -> Double { try value(source.double) }
    func decode(_ type: Float.Type) throws -> Float { try value(source.float) }
    func decode(_ type: Int.Type) throws -> Int { try value { try source.integer(Int.self, &$0, $1) } }
    func decode(_ type: Int8.Type) throws -> Int8 { try value { try source.integer(Int8.self, &$0, $1) } }
    func decode(_ type: Int16.Type) throws -> Int16 { try value { try source.integer(Int16.self, &$0, $1) } }
    func decode(_ type: Int32.Type) throws -> Int32 { try value { try source.integer(Int32.self, &$0, $1) } }
    func decode(_ type: Int64.Type) throws -> Int64 { try value { try source.integer(Int64.self, &$0, $1) } }
    func decode(_ type: UInt.Type) throws -> UInt { try value { try source.integer(UInt.self, &$0, $1) } }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try value { try source.integer(UInt8.self, &$0, $1) } }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try value { try source.integer(UInt16.self, &$0, $1) } }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try value { try source.integer(UInt32.self, &$0, $1) } }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try value { try source.integer(UInt64.self, &$0, $1) } }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try value { try source.value(T.self, at: &$0, codingPath: $1) } }
}
