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
}
