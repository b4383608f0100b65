import FoundationEssentials
import ForklineChannels

/// A faster wire form for the commonest chunk contents: arrays of `Int`, `Double`, `String` or
/// `[UInt8]` travel as raw little-endian words or length-prefixed UTF-8 or bytes. Measured here,
/// encoding and decoding a one-element JSON array costs several microseconds on each side,
/// which at chunksize 1 was most of a task's cost. Every other type is in the binary codec
/// (first byte `0xFB`, docs/codec.md); a JSON array (first byte `[`) is still read.
enum ScalarChunks {
    static let intTag: UInt8 = 1
    static let doubleTag: UInt8 = 2
    static let stringTag: UInt8 = 3
    static let bytesTag: UInt8 = 4
    /// The bytes before the one array of a chunk of one `[UInt8]`: the tag, the count (1) and
    /// the array's length.
    static let oneArrayHead = 9
    /// The length of a chunk of one `Int` or `Double`: the tag, the count (1), the 8 bytes.
    static let oneWordChunk = 13

    /// The value a one-word chunk (``TaskReply/valueWord(tag:bits:)``) holds, when `T` is its
    /// type (`Int` for ``intTag``, `Double` for ``doubleTag``); nil otherwise.
    static func word<T>(_ tag: UInt8, _ bits: UInt64, as: T.Type) -> T? {
        if T.self == Int.self, tag == intTag { return unsafeBitCast(Int(truncatingIfNeeded: bits), to: T.self) }
        if T.self == Double.self, tag == doubleTag { return unsafeBitCast(Double(bitPattern: bits), to: T.self) }
        return nil
    }

    /// The head of a chunk of one `[UInt8]` of `count` bytes (the bytes follow it).
    static func oneArrayHead(count: Int, into w: inout ByteWriter) {
        w.u8(bytesTag)
        w.u32(1)
        w.u32(UInt32(count))
    }

    /// The raw form of `values`, or nil when their type has none. (`T` is checked to be the
    /// very type before each `unsafeBitCast`, so the casts only rename it.)
    static func encode<T>(_ values: ArraySlice<T>) -> [UInt8]? {
        if T.self == Int.self { return words(intTag, unsafeBitCast(values, to: ArraySlice<Int>.self)) }
        if T.self == Double.self { return words(doubleTag, unsafeBitCast(values, to: ArraySlice<Double>.self)) }
        if T.self == String.self {
            var w = ByteWriter()
            w.u8(stringTag)
            w.u32(UInt32(values.count))
            for v in unsafeBitCast(values, to: ArraySlice<String>.self) { w.bytes(Array(v.utf8)) }
            return w.out
        }
        if T.self == [UInt8].self { return byteArrays(unsafeBitCast(values, to: ArraySlice<[UInt8]>.self)) }
        return nil
    }

    /// A tag, a count, then each array as a u32 length and its bytes: one copy of each, into a
    /// payload allocated at its final size (a 256 KiB `[UInt8]` through the general codec was
    /// copied three times: its container's buffer, growing, then the flattened payload).
    static func byteArrays(_ values: ArraySlice<[UInt8]>) -> [UInt8] {
        let total = values.reduce(5) { $0 + 4 + $1.count }
        return [UInt8](unsafeUninitializedCapacity: total) { buf, n in
            let raw = UnsafeMutableRawBufferPointer(buf)
            raw[0] = bytesTag
            raw.storeBytes(of: UInt32(values.count).littleEndian, toByteOffset: 1, as: UInt32.self)
            var at = 5
            for v in values {
                raw.storeBytes(of: UInt32(v.count).littleEndian, toByteOffset: at, as: UInt32.self)
                at += 4
                v.withUnsafeBytes { src in
                    if src.count > 0 { (raw.baseAddress! + at).copyMemory(from: src.baseAddress!, byteCount: src.count) }
                }
                at += v.count
            }
            n = total
        }
    }

    /// A tag, a count, and the values' 8-byte little-endian images (this is a little-endian
    /// machine: Linux on x86_64 and arm64), copied in one go.
    static func words<W: BitwiseCopyable>(_ tag: UInt8, _ values: ArraySlice<W>) -> [UInt8] {
        precondition(MemoryLayout<W>.size == 8)
        let count = values.count
        return [UInt8](unsafeUninitializedCapacity: 5 + count * 8) { buf, n in
            buf[0] = tag
            let raw = UnsafeMutableRawBufferPointer(buf)
            raw.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 1, as: UInt32.self)
            values.withUnsafeBytes { src in
                if src.count > 0 { (raw.baseAddress! + 5).copyMemory(from: src.baseAddress!, byteCount: src.count) }
            }
            n = 5 + count * 8
        }
    }

    static func unwords<W: BitwiseCopyable>(_ bytes: ArraySlice<UInt8>, count: Int, as: W.Type) -> [W] {
        [W](unsafeUninitializedCapacity: count) { buf, n in
            bytes.withUnsafeBytes { src in
                if count > 0 { UnsafeMutableRawPointer(buf.baseAddress!).copyMemory(from: src.baseAddress! + 5, byteCount: count * 8) }
            }
            n = count
        }
    }

    /// Every chunk's values in one array allocated at its final size, each chunk's words copied
    /// in one go; nil unless `T` is `Int` or `Double` and every chunk is a well-formed raw chunk
    /// of it. (Appending each chunk's decoded array grew the result again and again: a map of
    /// 1M tiny tasks spent most of its driver's time in those copies and their page faults.)
    static func joinWords<T>(_ chunks: [[UInt8]], as: T.Type) -> [T]? {
        let tag: UInt8
        if T.self == Int.self { tag = intTag } else if T.self == Double.self { tag = doubleTag } else { return nil }
        var total = 0
        for c in chunks {
            guard c.count >= 5, c[0] == tag else { return nil }
            let n = c.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 1, as: UInt32.self))) }
            guard c.count == 5 + n * 8 else { return nil }
            total += n
        }
        if T.self == Int.self { return unsafeBitCast(joined(chunks, total: total, as: Int.self), to: [T].self) }
        return unsafeBitCast(joined(chunks, total: total, as: Double.self), to: [T].self)
    }

    static func joined<W: BitwiseCopyable>(_ chunks: [[UInt8]], total: Int, as: W.Type) -> [W] {
        [W](unsafeUninitializedCapacity: total) { buf, n in
            var at = 0
            for c in chunks {
                c.withUnsafeBytes { src in
                    let bytes = src.count - 5
                    if bytes > 0 { (UnsafeMutableRawPointer(buf.baseAddress!) + at).copyMemory(from: src.baseAddress! + 5, byteCount: bytes) }
                    at += bytes
                }
            }
            n = total
        }
    }

    /// Decodes a raw chunk; nil when `bytes` is not one of type `T` (then it is JSON).
    static func decode<T>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> [T]? {
        guard let tag = bytes.first, tag != UInt8(ascii: "[") else { return nil }
        var r = ByteReader(bytes)
        _ = r.u8()
        guard let n = r.u32().map(Int.init) else { return nil }
        switch tag {
        case intTag where T.self == Int.self && bytes.count == 5 + n * 8:
            return unsafeBitCast(unwords(bytes, count: n, as: Int.self), to: [T].self)
        case doubleTag where T.self == Double.self && bytes.count == 5 + n * 8:
            return unsafeBitCast(unwords(bytes, count: n, as: Double.self), to: [T].self)
        case bytesTag where T.self == [UInt8].self:
            var out: [[UInt8]] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                guard let b = r.bytes() else { return nil }
                out.append(b)
            }
            guard r.remaining == 0 else { return nil }
            return unsafeBitCast(out, to: [T].self)
        case stringTag where T.self == String.self:
            var out: [T] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                guard let b = r.bytes() else { return nil }
                out.append(unsafeBitCast(String(decoding: b, as: UTF8.self), to: T.self))
            }
            return out
        default: return nil
        }
    }
}

extension JSONChunks {
    /// Chunks of `values`: raw for `Int`, `Double`, `String` and `[UInt8]`, else the binary codec
    /// (docs/codec.md), one payload per chunk.
    static func encodeChunks<T: Encodable>(_ values: [T], chunksize: Int) throws(PoolError) -> [[UInt8]] {
        let scalar = T.self == Int.self || T.self == Double.self || T.self == String.self || T.self == [UInt8].self
        var chunks: [[UInt8]] = []
        chunks.reserveCapacity((values.count + chunksize - 1) / chunksize)
        var i = 0
        while i < values.count {
            let end = min(i + chunksize, values.count)
            if scalar {
                chunks.append(ScalarChunks.encode(values[i..<end])!)
            } else {
                do { chunks.append(try BinaryEncoder().encode(Array(values[i..<end]))) } catch {
                    throw PoolError(.encoding, "cannot encode the inputs ([\(T.self)]): \(error)")
                }
            }
            i = end
        }
        return chunks
    }

    /// One chunk's array: raw or the binary codec.
    static func encodeChunk<T: Encodable>(_ values: [T]) throws -> [UInt8] {
        if let raw = ScalarChunks.encode(values[...]) { return raw }
        return try BinaryEncoder().encode(values)
    }

    /// Decodes one chunk's array: raw, the binary codec, or JSON (the first byte tells which).
    static func decodeChunk<T: Decodable>(_ bytes: [UInt8], as: T.Type) throws -> [T] { try decodeChunk(bytes[...], as: T.self) }

    /// Decodes one chunk's array from a slice (a worker's task, inside the message it came in).
    static func decodeChunk<T: Decodable>(_ bytes: ArraySlice<UInt8>, as: T.Type) throws -> [T] {
        if bytes.first == BinaryFormat.magic { return try bytes.withUnsafeBytes { try BinaryDecoder().decode([T].self, from: $0) } }
        if let raw = ScalarChunks.decode(bytes, as: T.self) { return raw }
        return try JSONDecoder().decode([T].self, from: Data(bytes))
    }

    /// Decodes a `mixed` reply's outcomes: the binary codec, or JSON (before it).
    static func decodeOutcomes<T: Decodable>(_ bytes: [UInt8], as: T.Type) throws -> [ItemOutcome<T>] {
        if bytes.first == BinaryFormat.magic { return try BinaryDecoder().decode([ItemOutcome<T>].self, from: bytes) }
        return try JSONDecoder().decode([ItemOutcome<T>].self, from: Data(bytes))
    }

    /// Decodes every chunk's values, in order: one JSON decode when they are all JSON.
    static func decodeAll<T: Decodable>(_ chunks: [[UInt8]], as: T.Type) throws -> [T] {
        if chunks.count > 1, chunks.allSatisfy({ $0.first == UInt8(ascii: "[") }) {
            return try JSONDecoder().decode([T].self, from: Data(join(chunks)))
        }
        if chunks.count == 1 { return try decodeChunk(chunks[0], as: T.self) }
        if let raw = ScalarChunks.joinWords(chunks, as: T.self) { return raw }
        var out: [T] = []
        for c in chunks { out += try decodeChunk(c, as: T.self) }
        return out
    }
}
