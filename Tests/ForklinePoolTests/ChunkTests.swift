@testable import ForklinePool
import Testing

/// How chunks of inputs and outputs are encoded: raw for Int, Double and String, the binary codec
/// otherwise (docs/codec.md); JSON arrays are still read.
@Suite("Chunk encoding")
struct ChunkTests {
    struct Point: Codable, Equatable, Sendable {
        var x: Int
        var label: String
        var tags: [String]
    }

    func roundTrip<T: Codable & Equatable>(_ values: [T], chunksize: Int) throws -> [T] {
        let chunks = try JSONChunks.encodeChunks(values, chunksize: chunksize)
        #expect(chunks.count == (values.count + chunksize - 1) / chunksize)
        var one: [T] = []
        for c in chunks { one += try JSONChunks.decodeChunk(c, as: T.self) }
        #expect(one == values)
        return try JSONChunks.decodeAll(chunks, as: T.self)
    }

    @Test("Int, Double and String chunks travel raw and come back equal", arguments: [1, 3, 7, 100])
    func scalars(chunksize: Int) throws {
        let ints = [0, -1, Int.max, Int.min, 42, 7, 8, 9, 10, 11]
        #expect(try roundTrip(ints, chunksize: chunksize) == ints)
        #expect(try JSONChunks.encodeChunks(ints, chunksize: chunksize).allSatisfy { $0.first == ScalarChunks.intTag })
        let doubles = [0.5, -0.0, .infinity, 1e300, 3.25]
        #expect(try roundTrip(doubles, chunksize: chunksize) == doubles)
        let strings = ["", "a,b", "[x]", "quote \" and \\\\", "héllo", "{\"k\":1}"]
        #expect(try roundTrip(strings, chunksize: chunksize) == strings)
    }

    @Test("many raw Int and Double chunks join in order, and a chunk whose count disagrees with its length is refused")
    func joinedChunks() throws {
        let ints = Array(-500..<1_500)
        #expect(try roundTrip(ints, chunksize: 7) == ints)
        #expect(try JSONChunks.decodeAll([[ScalarChunks.intTag, 0, 0, 0, 0]] + JSONChunks.encodeChunks(ints, chunksize: 300), as: Int.self) == ints)
        let doubles = ints.map { Double($0) / 4 }
        #expect(try roundTrip(doubles, chunksize: 13) == doubles)
        var chunks = try JSONChunks.encodeChunks(ints, chunksize: 100)
        chunks[3][1] &+= 1  // says 101 words, holds 100
        #expect(throws: (any Error).self) { try JSONChunks.decodeAll(chunks, as: Int.self) }
    }

    @Test("other types are one binary-codec payload per chunk (strings with commas and brackets included)",
          arguments: [1, 2, 5])
    func json(chunksize: Int) throws {
        let points = [
            Point(x: 1, label: "a,b", tags: ["[", "]"]),
            Point(x: -2, label: "{\"nested\": [1,2]}", tags: []),
            Point(x: 3, label: "quote \" backslash \\\\", tags: ["x", "y,z"]),
            Point(x: 4, label: "", tags: ["}"]),
        ]
        #expect(try roundTrip(points, chunksize: chunksize) == points)
        #expect(try JSONChunks.encodeChunks(points, chunksize: chunksize).allSatisfy { $0.prefix(2) == [0xFB, 1] })
        let optionals: [Int?] = [1, nil, 3]
        #expect(try roundTrip(optionals, chunksize: chunksize) == optionals)
    }

    @Test("a [UInt8] chunk is its bytes and a few headers, not a JSON array of numbers")
    func bytes() throws {
        let input = (0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let chunks = try JSONChunks.encodeChunks([input], chunksize: 1)
        #expect(chunks.count == 1 && chunks[0].count <= input.count + 16)
        #expect(try JSONChunks.decodeAll(chunks, as: [UInt8].self) == [input])
    }

    @Test("JSON arrays are still read, alone or several at once")
    func jsonStillRead() throws {
        let a = Array("[{\"x\":1,\"label\":\"a\",\"tags\":[]}]".utf8), b = Array("[{\"x\":2,\"label\":\"b\",\"tags\":[\"t\"]}]".utf8)
        #expect(try JSONChunks.decodeChunk(a, as: Point.self) == [Point(x: 1, label: "a", tags: [])])
        #expect(try JSONChunks.decodeAll([a, b], as: Point.self).map(\.x) == [1, 2])
    }

    @Test("worker messages survive encoding")
    func messages() {
        let all: [WorkerMessage] = [
            .stop, .ready(1234), .initFailed("boom"),
            .run([.init(task: 1, function: "square", payload: [1, 2, 3]), .init(task: 2, function: "", payload: [])]),
            .reply(7, .values([9])), .reply(8, .mixed([1])), .reply(9, .unknownFunction("f")), .reply(10, .badInput("why")),
        ]
        for m in all { #expect(WorkerMessage.decode(m.encode()) == m) }
        #expect(WorkerMessage.decode([]) == nil)
        #expect(WorkerMessage.decode([1, 5, 0, 0, 0]) == nil)
    }
}
