import FoundationEssentials

/// A faster wire form for the commonest chunk contents: arrays of `Int`, `Double` or `String`
/// travel as raw little-endian words or length-prefixed UTF-8 instead of JSON. Measured here,
/// encoding and decoding a one-element JSON array costs several microseconds on each side,
/// which at chunksize 1 was most of a task's cost. Every other type is JSON (the first byte
/// `[` tells the two apart).
enum ScalarChunks {
    static let intTag: UInt8 = 1
    static let doubleTag: UInt8 = 2
    static let stringTag: UInt8 = 3

    /// The raw form of `values`, or nil when their type has none.
    static func encode<T>(_ values: ArraySlice<T>) -> [UInt8]? {
        if T.self == Int.self {
            return words(intTag, values.count) { i in UInt64(bitPattern: Int64(values[values.startIndex + i] as! Int)) }
        }
        if T.self == Double.self {
            return words(doubleTag, values.count) { i in (values[values.startIndex + i] as! Double).bitPattern }
        }
        if T.self == String.self {
            var w = ByteWriter()
            w.u8(stringTag)
            w.u32(UInt32(values.count))
            for v in values { w.bytes(Array((v as! String).utf8)) }
            return w.out
        }
        return nil
    }

    static func words(_ tag: UInt8, _ count: Int, _ word: (Int) -> UInt64) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: 5 + count * 8) { buf, n in
            buf[0] = tag
            let raw = UnsafeMutableRawBufferPointer(buf)
            raw.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 1, as: UInt32.self)
            for i in 0..<count { raw.storeBytes(of: word(i).littleEndian, toByteOffset: 5 + i * 8, as: UInt64.self) }
            n = 5 + count * 8
        }
    }

    /// Decodes a raw chunk; nil when `bytes` is not one of type `T` (then it is JSON).
    static func decode<T>(_ bytes: [UInt8], as: T.Type) -> [T]? {
        guard let tag = bytes.first, tag != UInt8(ascii: "[") else { return nil }
        var r = ByteReader(bytes)
        _ = r.u8()
        guard let n = r.u32().map(Int.init) else { return nil }
        switch tag {
        case intTag where T.self == Int.self && bytes.count == 5 + n * 8:
            return (0..<n).map { i in Int(Int64(bitPattern: r.u64()!)) as! T }
        case doubleTag where T.self == Double.self && bytes.count == 5 + n * 8:
            return (0..<n).map { _ in Double(bitPattern: r.u64()!) as! T }
        case stringTag where T.self == String.self:
            var out: [T] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                guard let b = r.bytes() else { return nil }
                out.append(String(decoding: b, as: UTF8.self) as! T)
            }
            return out
        default: return nil
        }
    }
}

extension JSONChunks {
    /// Chunks of `values`: raw when their type allows it, else JSON arrays.
    static func encodeChunks<T: Encodable>(_ values: [T], chunksize: Int) throws(PoolError) -> [[UInt8]] {
        guard T.self == Int.self || T.self == Double.self || T.self == String.self else { return try encode(values, chunksize: chunksize) }
        return stride(from: 0, to: values.count, by: chunksize).map { i in
            ScalarChunks.encode(values[i..<min(i + chunksize, values.count)])!
        }
    }

    /// One chunk's array: raw or JSON.
    static func encodeChunk<T: Encodable>(_ values: [T]) throws -> [UInt8] {
        if let raw = ScalarChunks.encode(values[...]) { return raw }
        return Array(try JSONEncoder().encode(values))
    }

    /// Decodes one chunk's array, raw or JSON.
    static func decodeChunk<T: Decodable>(_ bytes: [UInt8], as: T.Type) throws -> [T] {
        if let raw = ScalarChunks.decode(bytes, as: T.self) { return raw }
        return try JSONDecoder().decode([T].self, from: Data(bytes))
    }

    /// Decodes every chunk's values, in order: one JSON decode when they are all JSON.
    static func decodeAll<T: Decodable>(_ chunks: [[UInt8]], as: T.Type) throws -> [T] {
        if chunks.allSatisfy({ $0.first == UInt8(ascii: "[") }) {
            return try JSONDecoder().decode([T].self, from: Data(join(chunks)))
        }
        var out: [T] = []
        for c in chunks { out += try decodeChunk(c, as: T.self) }
        return out
    }
}
