// Codec scenarios (docs/codec.md): bytes and Codable values through a real pool and a real
// Connection to a child; each prints facts, one per line; the trace is the rest.
import FoundationEssentials
import Forkline

/// A struct with every byte-like field the codec writes as bytes.
struct CodecBlob: Codable, Sendable, Equatable {
    var name: String
    var data: Data
    var samples: [Double]
}

/// Reverses 256 KiB (or any) bytes: the output differs from the input, so an echo proves nothing.
let codecReverse = PoolFunction<[UInt8], [UInt8]>("codec-reverse") { Array($0.reversed()) }
let codecBlob = PoolFunction<CodecBlob, CodecBlob>("codec-blob") { b in
    CodecBlob(name: b.name + "!", data: b.data + Data([1]), samples: b.samples.map { $0 * 2 })
}

enum CodecScenarios {
    static let entries: [any AnyEntryPoint] = [codecReverse, codecBlob] + BinaryCodableScenarios.entries + EntryArgScenarios.entries

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        switch scenario {
        case let s where s.hasPrefix("codec-binary-"): try await BinaryCodableScenarios.run(s, m)
        case let s where s.hasPrefix("codec-entry-"): try EntryArgScenarios.run(s, m)
        case "codec-pool-bytes":
            // Four 256 KiB [UInt8] inputs and a struct of bytes, through two workers.
            let inputs = (0..<4).map { k in (0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ k) } }
            let blob = CodecBlob(name: "b", data: Data(repeating: 9, count: 100_000), samples: [0.5, 1.5])
            try await withPool(workers: 2, method: m) { pool in
                let out = try await pool.map(codecReverse, inputs, chunksize: 1)
                print(out == inputs.map { Array($0.reversed()) } ? "bytes ok" : "bytes wrong")
                let b = try await pool.map(codecBlob, [blob, blob], chunksize: 2)
                print(b == Array(repeating: CodecBlob(name: "b!", data: blob.data + Data([1]), samples: [1, 3]), count: 2) ? "blob ok" : "blob wrong")
            }
        default:
            print("unknown codec scenario \(scenario)")
        }
    }
}
