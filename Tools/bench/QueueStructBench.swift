// The 3-field struct with a String (issue 14 item 2) written by its own `BinaryCodable`
// code instead of through `Codable`: the row "queue 3-field struct with a String, BinaryCodable,
// 1x1" beside the same struct `Codable`-only (`BenchNamed`, the row QueueBench keeps), rounds
// alternated in the same run. The bytes on the queue are the same (docs/codec.md).
import Forkline

/// `BenchNamed`'s fields with the conformance `@BinaryCodable` generates (docs/codec.md).
struct BenchNamedBinary: BinaryCodable, Sendable {
    var id: Int
    var value: Double
    var name: String

    init(id: Int, value: Double, name: String) {
        self.id = id
        self.value = value
        self.name = name
    }
    func encode(to writer: inout BinaryWriter) throws {
        writer.beginKeyed()
        try writer.field("id", id)
        try writer.field("value", value)
        try writer.field("name", name)
        writer.endKeyed()
    }
    init(from reader: inout BinaryReader) throws {
        var fields = try reader.beginKeyed()
        id = try fields.field("id")
        value = try fields.field("value")
        name = try fields.field("name")
        try reader.endKeyed(fields)
    }
}

enum QueueStructBench {
    static func figures(quick: Bool) throws -> [Figure] {
        let rounds = quick ? 3 : 7
        let items = (quick ? 200_000 : 1_000_000) / 4
        var codable: [Double] = [], binary: [Double] = []
        for _ in 0..<rounds {
            codable.append(try QueueBench.oneToOne(items) { BenchNamed(id: $0, value: 2.5, name: "seven") })
            binary.append(try QueueBench.oneToOne(items) { BenchNamedBinary(id: $0, value: 2.5, name: "seven") })
        }
        return [
            Figure(name: "queue 3-field struct with a String, BinaryCodable, 1x1", unit: "M/s", ours: binary,
                   peerName: "the same struct Codable-only, alternated", peer: codable),
        ]
    }

    /// CPU time per put+get in one process (`FORKLINE_BENCH_QUEUE_LOOP=1 forkline-bench
    /// --channels`): the struct Codable-only and BinaryCodable, alternated three times.
    static func loop(_ cpu: () -> Double) throws {
        let codable = try Queue<BenchNamed>(), binary = try Queue<BenchNamedBinary>()
        var a: [Double] = [], b: [Double] = []
        for _ in 0..<3 {
            let c0 = cpu()
            for i in 0..<200_000 { try codable.putNowait(BenchNamed(id: i, value: 2.5, name: "seven")); _ = try codable.getNowait() }
            let c1 = cpu()
            for i in 0..<200_000 { try binary.putNowait(BenchNamedBinary(id: i, value: 2.5, name: "seven")); _ = try binary.getNowait() }
            a.append((c1 - c0) / 2e5)
            b.append((cpu() - c1) / 2e5)
        }
        func ns(_ xs: [Double]) -> String { xs.map { String(Int($0.rounded())) }.joined(separator: ", ") }
        print("Queue<3-field struct with a String> put+get, CPU ns, alternated: Codable-only \(ns(a)); BinaryCodable \(ns(b))")
    }
}
