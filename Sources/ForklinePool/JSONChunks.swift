import FoundationEssentials

/// Encodes and decodes values in chunks with one JSON coder call per *call*, not per chunk: the
/// inputs are encoded as one JSON array whose top-level elements are then cut into chunk arrays,
/// and a map's value arrays are joined back into one array before one decode. At chunksize 1 this
/// is most of the parent's cost per task.
enum JSONChunks {
    /// The JSON array of `values`, cut into arrays of `chunksize` elements.
    static func encode<T: Encodable>(_ values: [T], chunksize: Int) throws(PoolError) -> [[UInt8]] {
        let all: [UInt8]
        do { all = Array(try JSONEncoder().encode(values)) } catch {
            throw PoolError(.encoding, "cannot encode the inputs ([\(T.self)]): \(error)")
        }
        let spans = elementSpans(all)
        guard spans.count == values.count else {
            throw PoolError(.encoding, "cannot split the encoded inputs ([\(T.self)]) into \(values.count) elements")
        }
        var chunks: [[UInt8]] = []
        chunks.reserveCapacity((values.count + chunksize - 1) / chunksize)
        var i = 0
        while i < spans.count {
            let end = min(i + chunksize, spans.count)
            var chunk: [UInt8] = [UInt8(ascii: "[")]
            chunk.append(contentsOf: all[spans[i].lowerBound..<spans[end - 1].upperBound])
            chunk.append(UInt8(ascii: "]"))
            chunks.append(chunk)
            i = end
        }
        return chunks
    }

    /// Each chunk of `values` encoded on its own (after ``encode(_:chunksize:)`` failed): the
    /// chunks that cannot be encoded are in `failed` (their payload is empty), so a call can
    /// deliver the others and fail only those, at their place.
    static func encodeEachChunk<T: Encodable>(_ values: [T], chunksize: Int) -> (payloads: [[UInt8]], failed: [Int: PoolError]) {
        var payloads: [[UInt8]] = []
        var failed: [Int: PoolError] = [:]
        for (n, start) in stride(from: 0, to: values.count, by: chunksize).enumerated() {
            let end = min(start + chunksize, values.count)
            do { payloads.append(try encodeChunk(Array(values[start..<end]))) } catch {
                payloads.append([])
                let which = end - start == 1 ? "input \(start)" : "inputs \(start)..<\(end)"
                failed[n] = PoolError(.encoding, "cannot encode \(which) ([\(T.self)]): \(error)")
            }
        }
        return (payloads, failed)
    }

    /// Joins JSON arrays into one array.
    static func join(_ arrays: [[UInt8]]) -> [UInt8] {
        var out: [UInt8] = [UInt8(ascii: "[")]
        out.reserveCapacity(arrays.reduce(2) { $0 + $1.count })
        var first = true
        for a in arrays {
            guard a.count > 2 else { continue }
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            out.append(contentsOf: a[1..<(a.count - 1)])
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// The byte ranges of the top-level elements of a JSON array (as JSONEncoder writes it:
    /// no whitespace outside strings).
    static func elementSpans(_ json: [UInt8]) -> [Range<Int>] {
        guard json.count >= 2, json.first == UInt8(ascii: "["), json.last == UInt8(ascii: "]") else { return [] }
        var spans: [Range<Int>] = []
        var depth = 0, inString = false, escaped = false
        var start = 1
        let end = json.count - 1
        if end == 1 { return [] }
        var i = 1
        while i < end {
            let c = json[i]
            if inString {
                if escaped { escaped = false } else if c == UInt8(ascii: "\\") { escaped = true } else if c == UInt8(ascii: "\"") { inString = false }
            } else {
                switch c {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
                case UInt8(ascii: ",") where depth == 0:
                    spans.append(start..<i)
                    start = i + 1
                default: break
                }
            }
            i += 1
        }
        spans.append(start..<end)
        return spans
    }
}
