import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The fields of an `object` value. Fields are usually asked for in the order they were written,
/// so the container reads them in place from a cursor (no scan, no table); the first look-up that
/// misses the cursor (a field asked for out of order, a missing optional, `allKeys`) scans the
/// container once into a table of (key, value) offsets, used from then on.
///
/// Its place in the payload is in `cell` when the container is one the state keeps and hands
/// out again (``DecodingSource/keyed(_:at:codingPath:)``), else `fixedStart`, `fixedIndex` and
/// `fixedPath`. A kept one holds no reference (its `fixedPath` nil), so the copy that
/// `KeyedDecodingContainer`'s box makes of it for every field costs no retain and release.
struct BinaryKeyedDecoding<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let source: DecodingSource
    let fixedStart: Int
    let fixedIndex: Int
    let fixedPath: [any CodingKey]?
    let cell: UnsafeMutablePointer<KeyedPlace>?

    var codingPath: [any CodingKey] { cell?.pointee.codingPath ?? fixedPath ?? [] }
    /// The offset of the container's `object` tag.
    var start: Int { cell?.pointee.start ?? fixedStart }
    /// The container's entry in `source.cursors`.
    var index: Int { cell?.pointee.index ?? fixedIndex }

    /// The value offset of the field at the cursor `c` if its key is `key`, read without a copy.
    func atCursor(_ c: Int, _ key: Key) -> Int? {
        let bytes = source.bytes
        // Keys are short: a one-byte length; a longer key is left to the table's full reader.
        guard c + 1 < bytes.count, bytes[c] == BinaryFormat.string, bytes[c + 1] < 0x80 else { return nil }
        let n = Int(bytes[c + 1]), k = c + 2
        guard n <= bytes.count - k else { return nil }
        var s = key.stringValue
        func same(_ u: UnsafeBufferPointer<UInt8>) -> Bool {
            guard u.count == n else { return false }
            // A few bytes: compared here, not by a call to memcmp.
            var j = 0
            while j < n {
                if u[j] != bytes[k + j] { return false }
                j += 1
            }
            return true
        }
        // A key's String is usually a literal, its UTF-8 where it is: no copy of the String.
        let found = s.utf8.withContiguousStorageIfAvailable(same) ?? s.withUTF8(same)
        return found ? k + n : nil
    }

    /// The container's table of fields, made by one scan the first time it is needed.
    func table() throws -> Int {
        let c = source.cursor(index)
        if c < 0 { return -1 - c }
        var fields: [(key: Int, length: Int, value: Int)] = []
        var i = start + 1
        let path = codingPath
        while true {
            guard i < source.bytes.count else { throw source.corrupt(start, "truncated keyed container: no end", { path }) }
            if source.bytes[i] == BinaryFormat.end { break }
            let k = try source.span(BinaryFormat.string, &i, { path })
            let keyAt = k.baseAddress! - source.bytes.baseAddress!
            fields.append((keyAt, k.count, i))
            i = try source.skip(i, { path })
        }
        source.p.pointee.tables.append((fields, 0))
        let t = source.p.pointee.tables.count - 1
        source.setCursor(index, -1 - t)
        return t
    }

    func matches(_ f: (key: Int, length: Int, value: Int), _ key: Key) -> Bool {
        var s = key.stringValue
        return s.withUTF8 { k in
            k.count == f.length && (f.length == 0 || memcmp(k.baseAddress!, source.bytes.baseAddress! + f.key, f.length) == 0)
        }
    }

    /// The value offset of `key`'s field and whether it was found at the cursor; nil when absent.
    func find(_ key: Key) throws -> (value: Int, atCursor: Bool)? {
        let c = source.cursor(index)
        if c >= 0, let v = atCursor(c, key) { return (v, true) }
        let t = try table()
        let fields = source.p.pointee.tables[t].fields
        let n = fields.count
        guard n > 0 else { return nil }
        let hint = source.p.pointee.tables[t].hint
        var i = hint < n ? hint : 0
        for _ in 0..<n {
            if matches(fields[i], key) {
                source.p.pointee.tables[t].hint = i + 1
                return (fields[i].value, false)
            }
            i = i + 1 == n ? 0 : i + 1
        }
        return nil
    }

    func at(_ key: Key) throws -> (value: Int, atCursor: Bool) {
        guard let f = try find(key) else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "binary payload: no field '\(key.stringValue)'"))
        }
        return f
    }

    /// Reads `key`'s value with `reader`; a field read at the cursor moves the cursor past it.
    @inline(__always)
    func field<T>(_ key: Key, _ reader: (inout Int, CodingPathFn) throws -> T) throws -> T {
        let (start, cursor) = try at(key)
        var v = start
        let r = try reader(&v, { codingPath + [key] })
        if cursor { source.setCursor(index, v) }
        return r
    }

    var allKeys: [Key] {
        guard let t = try? table() else { return [] }
        return source.p.pointee.tables[t].fields.compactMap { f in
            let b = UnsafeRawBufferPointer(rebasing: source.bytes[f.key..<(f.key + f.length)])
            return Key(stringValue: String(decoding: b, as: UTF8.self))
        }
    }
    func contains(_ key: Key) -> Bool { (try? find(key)) != nil }

    func decodeNil(forKey key: Key) throws -> Bool {
        let (v, cursor) = try at(key)
        guard v < source.bytes.count, source.bytes[v] == BinaryFormat.null else { return false }
        if cursor { source.setCursor(index, v + 1) }
        return true
    }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { let s = source; return try field(key) { try s.bool(&$0, $1) } }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { let s = source; return try field(key) { try s.string(&$0, $1) } }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { let s = source; return try field(key) { try s.double(&$0, $1) } }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { let s = source; return try field(key) { try s.float(&$0, $1) } }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { let s = source; return try field(key) { try s.integer(Int.self, &$0, $1) } }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { let s = source; return try field(key) { try s.integer(Int8.self, &$0, $1) } }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { let s = source; return try field(key) { try s.integer(Int16.self, &$0, $1) } }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { let s = source; return try field(key) { try s.integer(Int32.self, &$0, $1) } }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { let s = source; return try field(key) { try s.integer(Int64.self, &$0, $1) } }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { let s = source; return try field(key) { try s.integer(UInt.self, &$0, $1) } }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { let s = source; return try field(key) { try s.integer(UInt8.self, &$0, $1) } }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { let s = source; return try field(key) { try s.integer(UInt16.self, &$0, $1) } }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { let s = source; return try field(key) { try s.integer(UInt32.self, &$0, $1) } }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { let s = source; return try field(key) { try s.integer(UInt64.self, &$0, $1) } }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        let s = source
        return try field(key) { try s.value(T.self, at: &$0, codingPath: $1) }
    }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        let s = source
        return try field(key) { at, path in
            let c = try s.keyed(NestedKey.self, at: at, codingPath: path())
            at = try s.skip(at, path)
            return c
        }
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        let s = source
        return try field(key) { at, path in
            let c = try BinaryUnkeyedDecoding(source: s, at: at, codingPath: path())
            at = try s.skip(at, path)
            return c
        }
    }
    func superDecoder() throws -> any Decoder {
        let t = try table()
        guard let f = source.p.pointee.tables[t].fields.first(where: { f in f.length == 5 && memcmp(source.bytes.baseAddress! + f.key, "super", 5) == 0 }) else {
            throw DecodingError.keyNotFound(BinaryIndexKey(0), .init(codingPath: codingPath, debugDescription: "binary payload: no field 'super'"))
        }
        return BinaryDecoding(source: source, at: f.value, codingPath: codingPath)
    }
    func superDecoder(forKey key: Key) throws -> any Decoder {
        let s = source
        return try field(key) { at, path in
            let d = BinaryDecoding(source: s, at: at, codingPath: path())
            at = try s.skip(at, path)
            return d
        }
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

/// The values of an `array` value, read in order in place. The container is not scanned ahead:
/// it ends at its `end` tag; a truncated one ends early here and its parent's skip past the
/// value (or the payload's own end check) reports the truncation.
struct BinaryUnkeyedDecoding: UnkeyedDecodingContainer {
    let source: DecodingSource
    var codingPath: [any CodingKey]
    var cursor: Int
    var currentIndex = 0

    init(source: DecodingSource, at: Int, codingPath: [any CodingKey]) throws {
        self.source = source
        self.codingPath = codingPath
        let t = try source.tag(at, { codingPath })
        guard t == BinaryFormat.array else {
            throw DecodingError.typeMismatch([Any].self, .init(codingPath: codingPath, debugDescription: "binary payload, byte \(at): expected an unkeyed container, found \(source.tagName(t))"))
        }
        cursor = at + 1
    }

    /// The number of elements, counted on demand (nil when the container is damaged).
    var count: Int? {
        var i = cursor, n = currentIndex
        let path = codingPath
        while i < source.bytes.count, source.bytes[i] != BinaryFormat.end {
            guard let next = try? source.skip(i, { path }) else { return nil }
            i = next
            n += 1
        }
        return i < source.bytes.count ? n : nil
    }
    var isAtEnd: Bool { cursor >= source.bytes.count || source.bytes[cursor] == BinaryFormat.end }

    mutating func check() throws {
        guard !isAtEnd else {
            let path = codingPath + [BinaryIndexKey(currentIndex)]
            if cursor >= source.bytes.count { throw source.corrupt(cursor, "truncated unkeyed container: no end", { path }) }
            throw DecodingError.valueNotFound(Any.self, .init(codingPath: path, debugDescription: "binary payload: the unkeyed container has only \(currentIndex) elements"))
        }
    }
    @inline(__always)
    mutating func take<T>(_ reader: (inout Int, CodingPathFn) throws -> T) throws -> T {
        try check()
        let p = codingPath, i = currentIndex
        let v = try reader(&cursor, { p + [BinaryIndexKey(i)] })
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
    mutating func decode(_ type: Bool.Type) throws -> Bool { let s = source; return try take { try s.bool(&$0, $1) } }
    mutating func decode(_ type: String.Type) throws -> String { let s = source; return try take { try s.string(&$0, $1) } }
    mutating func decode(_ type: Double.Type) throws -> Double { let s = source; return try take { try s.double(&$0, $1) } }
    mutating func decode(_ type: Float.Type) throws -> Float { let s = source; return try take { try s.float(&$0, $1) } }
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
            let c = try s.keyed(NestedKey.self, at: at, codingPath: p())
            at = try s.skip(at, p)
            return c
        }
    }
    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let s = source
        return try take { at, p in
            let c = try BinaryUnkeyedDecoding(source: s, at: at, codingPath: p())
            at = try s.skip(at, p)
            return c
        }
    }
    mutating func superDecoder() throws -> any Decoder {
        let s = source
        return try take { at, p in
            let d = BinaryDecoding(source: s, at: at, codingPath: p())
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

    @inline(__always)
    func value<T>(_ r: (inout Int, CodingPathFn) throws -> T) throws -> T {
        var i = at
        let p = codingPath
        return try r(&i, { p })
    }
    func decodeNil() -> Bool { at < source.bytes.count && source.bytes[at] == BinaryFormat.null }
    func decode(_ type: Bool.Type) throws -> Bool { let s = source; return try value { try s.bool(&$0, $1) } }
    func decode(_ type: String.Type) throws -> String { let s = source; return try value { try s.string(&$0, $1) } }
    func decode(_ type: Double.Type) throws -> Double { let s = source; return try value { try s.double(&$0, $1) } }
    func decode(_ type: Float.Type) throws -> Float { let s = source; return try value { try s.float(&$0, $1) } }
    func decode(_ type: Int.Type) throws -> Int { let s = source; return try value { try s.integer(Int.self, &$0, $1) } }
    func decode(_ type: Int8.Type) throws -> Int8 { let s = source; return try value { try s.integer(Int8.self, &$0, $1) } }
    func decode(_ type: Int16.Type) throws -> Int16 { let s = source; return try value { try s.integer(Int16.self, &$0, $1) } }
    func decode(_ type: Int32.Type) throws -> Int32 { let s = source; return try value { try s.integer(Int32.self, &$0, $1) } }
    func decode(_ type: Int64.Type) throws -> Int64 { let s = source; return try value { try s.integer(Int64.self, &$0, $1) } }
    func decode(_ type: UInt.Type) throws -> UInt { let s = source; return try value { try s.integer(UInt.self, &$0, $1) } }
    func decode(_ type: UInt8.Type) throws -> UInt8 { let s = source; return try value { try s.integer(UInt8.self, &$0, $1) } }
    func decode(_ type: UInt16.Type) throws -> UInt16 { let s = source; return try value { try s.integer(UInt16.self, &$0, $1) } }
    func decode(_ type: UInt32.Type) throws -> UInt32 { let s = source; return try value { try s.integer(UInt32.self, &$0, $1) } }
    func decode(_ type: UInt64.Type) throws -> UInt64 { let s = source; return try value { try s.integer(UInt64.self, &$0, $1) } }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { let s = source; return try value { try s.value(T.self, at: &$0, codingPath: $1) } }
}
