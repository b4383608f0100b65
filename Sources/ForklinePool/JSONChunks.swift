import FoundationEssentials

/// Encodes and decodes the values of a call's chunks (docs/codec.md): each chunk is one payload,
/// raw for `Int`, `Double` and `String` (``ScalarChunks``) and in the binary codec for every other
/// type, so `[UInt8]` and `Data` inputs travel as their bytes. JSON arrays (the form before the
/// binary codec, and still that of the `mixed` replies of chunks with failures) are still read.
enum JSONChunks {
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
}
