import ForklineChannels
@testable import ForklinePool
import Testing

/// The driver-worker protocol's forms (docs/pool.md, "Protocol"; docs/codec.md): byte arrays as
/// their bytes, the worker's start arguments in the binary codec, reply records built whole.
@Suite("Pool worker protocol")
struct WorkerProtocolTests {
    @Test("a chunk of [UInt8] is each array's bytes after a 5-byte head and a 4-byte length, and comes back equal")
    func byteArrayChunks() throws {
        let arrays: [[UInt8]] = [[], [1, 2, 3], Array(repeating: 0xFB, count: 300_000), [0x5B]]
        let chunks = try JSONChunks.encodeChunks(arrays, chunksize: 2)
        #expect(chunks.map(\.first) == [ScalarChunks.bytesTag, ScalarChunks.bytesTag])
        #expect(chunks.map(\.count) == [5 + 4 + 4 + 3, 5 + 4 + 300_000 + 4 + 1])
        #expect(try JSONChunks.decodeAll(chunks, as: [UInt8].self) == arrays)
        // A chunk cut short, or with bytes after its arrays, is not taken for one.
        #expect(throws: (any Error).self) { try JSONChunks.decodeChunk(Array(chunks[1].dropLast()), as: [UInt8].self) }
        #expect(throws: (any Error).self) { try JSONChunks.decodeChunk(chunks[0] + [0], as: [UInt8].self) }
    }

    @Test("a pool worker's start arguments are in the binary codec and decode to what was sent")
    func workerArguments() throws {
        let (a, b) = try Connection.pipe()
        defer { a.close(); b.close() }
        let args = WorkerArguments(connection: b, pool: 77, initializer: "init", initializerArguments: [1, 2, 3], ring: 5, wake: 6)
        let bytes = try PoolWorker.encodeArguments(args)
        #expect(bytes.first == BinaryFormat.magic)
        // The connection decodes only in a child it was passed to: read the other fields.
        struct Fields: Decodable { var pool: UInt64; var initializer: String?; var initializerArguments: [UInt8]?; var ring: Int32; var wake: Int32 }
        let back = try BinaryDecoder().decode(Fields.self, from: bytes)
        #expect(back.pool == 77 && back.initializer == "init" && back.initializerArguments == [1, 2, 3] && back.ring == 5 && back.wake == 6)
    }

    @Test("a reply record carries its header and the reply's bytes, and reads back through the ring's decoding")
    func replyRecord() throws {
        let reply = WorkerMessage.reply(9, .mixed([4, 5, 6]))
        var buffer: [UInt8] = Array(repeating: 0xEE, count: 1000)
        ReplyRing.record(marker: false, puid: 11, seq: 12, endNs: 13, message: reply, into: &buffer)
        #expect(buffer.count == ReplyRing.recordHeader + reply.encodedSize)
        #expect(buffer[0] == 0)
        let decoded = ReplyRing.decodeReply(buffer[ReplyRing.recordHeader...])
        #expect(decoded?.task == 9 && decoded?.reply == .mixed([4, 5, 6]))
        #expect(WorkerMessage.decode(WorkerMessage.run([.init(task: 1, function: "f", payload: [7, 8][...])]).encode())
            == .run([.init(task: 1, function: "f", payload: [7, 8][...])]))
    }
}
