import FoundationEssentials
import ForklineChannels

/// A faster wire form for the commonest chunk contents: arrays of fixed-width scalars (`Int`,
/// `Double`, `UInt64` and the other integer widths, `Float`, `Bool`), `String` or `[UInt8]`
/// travel as raw little-endian words or length-prefixed UTF-8 or bytes. Measured here, encoding
/// and decoding a one-element JSON array costs several microseconds on each side, which at
/// chunksize 1 was most of a task's cost. Every other type is in the binary codec (first byte
/// `0xFB`, docs/codec.md); a JSON array (first byte `[`) is still read.
///
/// A chunk of scalars is its type's tag, a u32 count, then one 8-byte word per value: its bit
/// pattern, zero-extended for the narrower types (`Bool`: 0 or 1). The tag names the type, so a
/// chunk read as another type is refused, not reinterpreted.
enum ScalarChunks {
    static let intTag: UInt8 = 1
    static let doubleTag: UInt8 = 2
    static let stringTag: UInt8 = 3
    static let bytesTag: UInt8 = 4
    static let uint64Tag: UInt8 = 5
    static let int64Tag: UInt8 = 6
    static let uintTag: UInt8 = 7
    static let int32Tag: UInt8 = 8
    static let uint32Tag: UInt8 = 9
    static let int16Tag: UInt8 = 10
    static let uint16Tag: UInt8 = 11
    static let int8Tag: UInt8 = 12
    static let uint8Tag: UInt8 = 13
    static let floatTag: UInt8 = 14
    static let boolTag: UInt8 = 15
    /// The bytes before the one array of a chunk of one `[UInt8]`: the tag, the count (1) and
    /// the array's length.
    static let oneArrayHead = 9
    /// The length of a chunk of one scalar: the tag, the count (1), the 8-byte word.
    static let oneWordChunk = 13

    /// Whether `tag` is that of a chunk of scalars (one word a value).
    static func isWordTag(_ tag: UInt8) -> Bool { tag == intTag || tag == doubleTag || (uint64Tag...boolTag).contains(tag) }

    /// The tag of `T`'s chunks when `T` is a fixed-width scalar; nil otherwise. (Compared
    /// metadata, no conformance look-up: folded away where `T` is known.)
    @inline(__always)
    static func wordTag<T>(_: T.Type) -> UInt8? {
        if T.self == Int.self { return intTag }
        if T.self == Double.self { return doubleTag }
        if T.self == UInt64.self { return uint64Tag }
        if T.self == Int64.self { return int64Tag }
        if T.self == UInt.self { return uintTag }
        if T.self == Int32.self { return int32Tag }
        if T.self == UInt32.self { return uint32Tag }
        if T.self == Int16.self { return int16Tag }
        if T.self == UInt16.self { return uint16Tag }
        if T.self == Int8.self { return int8Tag }
        if T.self == UInt8.self { return uint8Tag }
        if T.self == Float.self { return floatTag }
        if T.self == Bool.self { return boolTag }
        return nil
    }

    /// The word of `v`, a value of a type with a ``wordTag(_:)``: its bit pattern, zero-extended.
    @inline(__always)
    static func word<T>(of v: T) -> UInt64 {
        switch MemoryLayout<T>.size {
        case 8: unsafeBitCast(v, to: UInt64.self)
        case 4: UInt64(unsafeBitCast(v, to: UInt32.self))
        case 2: UInt64(unsafeBitCast(v, to: UInt16.self))
        default: UInt64(unsafeBitCast(v, to: UInt8.self))
        }
    }

    /// The value of type `T` (one with a ``wordTag(_:)``) whose word is `w`.
    @inline(__always)
    static func value<T>(word w: UInt64, as: T.Type) -> T {
        if T.self == Bool.self { return unsafeBitCast(w != 0, to: T.self) }
        switch MemoryLayout<T>.size {
        case 8: return unsafeBitCast(w, to: T.self)
        case 4: return unsafeBitCast(UInt32(truncatingIfNeeded: w), to: T.self)
        case 2: return unsafeBitCast(UInt16(truncatingIfNeeded: w), to: T.self)
        default: return unsafeBitCast(UInt8(truncatingIfNeeded: w), to: T.self)
        }
    }

    /// The value a one-word chunk (``TaskReply/valueWord(tag:bits:)``) holds, when `T` is its
    /// type; nil otherwise.
    static func word<T>(_ tag: UInt8, _ bits: UInt64, as: T.Type) -> T? {
        guard let mine = wordTag(T.self), mine == tag else { return nil }
        return value(word: bits, as: T.self)
    }

    /// The number of values in `bytes` when it is a well-formed chunk of scalars tagged `tag`;
    /// nil otherwise.
    static func wordCount(_ bytes: ArraySlice<UInt8>, tag: UInt8) -> Int? {
        guard bytes.count >= 5, bytes.first == tag else { return nil }
        let n = bytes.withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 1, as: UInt32.self))) }
        return bytes.count == 5 + n * 8 ? n : nil
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
        if let tag = wordTag(T.self) { return words(tag, values) }
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

    /// A tag, a count, and the values' words (this is a little-endian machine: Linux on x86_64
    /// and arm64): the 8-byte types' images copied in one go.
    static func words<T>(_ tag: UInt8, _ values: ArraySlice<T>) -> [UInt8] {
        let count = values.count
        return [UInt8](unsafeUninitializedCapacity: 5 + count * 8) { buf, n in
            let raw = UnsafeMutableRawPointer(buf.baseAddress!)
            raw.storeBytes(of: tag, as: UInt8.self)
            raw.storeBytes(of: UInt32(count).littleEndian, toByteOffset: 1, as: UInt32.self)
            values.withUnsafeBufferPointer { src in
                guard let from = src.baseAddress else { return }
                if MemoryLayout<T>.size == 8 {
                    (raw + 5).copyMemory(from: from, byteCount: count * 8)
                } else {
                    var i = 0
                    while i < count {
                        raw.storeBytes(of: word(of: from[i]), toByteOffset: 5 + 8 * i, as: UInt64.self)
                        i += 1
                    }
                }
            }
            n = 5 + count * 8
        }
    }

    /// The `count` values of a chunk of scalars of type `T`.
    static func unwords<T>(_ bytes: ArraySlice<UInt8>, count: Int, as: T.Type) -> [T] {
        [T](unsafeUninitializedCapacity: count) { buf, n in
            bytes.withUnsafeBytes { src in
                guard count > 0, let to = buf.baseAddress else { return }
                fill(to, from: src.baseAddress! + 5, count: count)
            }
            n = count
        }
    }

    /// `count` values of type `T` from their words at `from`, into `to`.
    @inline(__always)
    static func fill<T>(_ to: UnsafeMutablePointer<T>, from: UnsafeRawPointer, count: Int) {
        if MemoryLayout<T>.size == 8 {
            UnsafeMutableRawPointer(to).copyMemory(from: from, byteCount: count * 8)
            return
        }
        var i = 0
        while i < count {
            (to + i).initialize(to: value(word: from.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self), as: T.self))
            i += 1
        }
    }

    /// Every chunk's values in one array allocated at its final size, each chunk's words copied
    /// in one go; nil unless `T` is a scalar and every chunk is a well-formed raw chunk of it.
    /// (Appending each chunk's decoded array grew the result again and again: a map of 1M tiny
    /// tasks spent most of its driver's time in those copies and their page faults.)
    static func joinWords<T>(_ chunks: [[UInt8]], as: T.Type) -> [T]? {
        guard let tag = wordTag(T.self) else { return nil }
        var total = 0
        for c in chunks {
            guard let n = wordCount(c[...], tag: tag) else { return nil }
            total += n
        }
        return [T](unsafeUninitializedCapacity: total) { buf, n in
            var at = 0
            for c in chunks {
                c.withUnsafeBytes { src in
                    let count = (src.count - 5) / 8
                    if count > 0 { fill(buf.baseAddress! + at, from: src.baseAddress! + 5, count: count) }
                    at += count
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
        if let mine = wordTag(T.self) {
            guard tag == mine, bytes.count == 5 + n * 8 else { return nil }
            return unwords(bytes, count: n, as: T.self)
        }
        switch tag {
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
    /// Chunks of `values`: raw for the scalars, `String` and `[UInt8]`, else the binary codec
    /// (docs/codec.md), one payload per chunk.
    static func encodeChunks<T: Encodable>(_ values: [T], chunksize: Int) throws(PoolError) -> [[UInt8]] {
        let scalar = ScalarChunks.wordTag(T.self) != nil || T.self == String.self || T.self == [UInt8].self
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
