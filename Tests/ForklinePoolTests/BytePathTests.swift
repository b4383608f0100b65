@testable import ForklinePool
import ForklineChannels
import Testing

/// The byte path of a pool task whose input and output are one `[UInt8]` (issue 14): the input
/// is written from the caller's array straight into the task ring, the output copied out of the
/// reply ring straight into the array its caller gets; on the wire both stay the usual chunks.
/// (The end-to-end check through real workers and the trace is ``PoolBytesTests``.)
@Suite("Pool byte path")
struct BytePathTests {
    static func bytes(_ n: Int, _ seed: UInt8) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 31) &+ seed } }

    @Test("a job carrying its [UInt8] input raw encodes as the job carrying that input's chunk")
    func rawJobWire() {
        for n in [0, 1, 300, 70_000] {
            let input = Self.bytes(n, 3)
            let chunk = ScalarChunks.byteArrays([input][...])
            let raw = WorkerMessage.run([.init(task: 9, function: "echo", payload: input[...], rawBytes: true),
                                         .init(task: 10, function: "f", payload: [1, 2, 3])])
            let plain = WorkerMessage.run([.init(task: 9, function: "echo", payload: chunk[...]),
                                           .init(task: 10, function: "f", payload: [1, 2, 3])])
            #expect(raw.encode(room: 5) == plain.encode(room: 5))
            #expect(raw.encodedSize == plain.encodedSize)
        }
    }

    @Test("large tasks written in place into the task ring, across its wrap and through its backlog, read back in order")
    func taskRingInPlace() throws {
        let ring = try TaskRing()
        defer { ring.closeDescriptor() }
        let (mine, theirs) = try Connection.pipe()
        defer {
            mine.close()
            theirs.close()
        }
        var scratch: [UInt8] = []
        var sent: [[[UInt8]]] = []
        var next = 0
        // Records of ~300 KB in a 2 MiB ring: it wraps several times, and posting 9 before the
        // worker takes any leaves some in the backlog.
        func take() throws {
            guard case .run(let got)? = try ring.take(connection: theirs) else {
                Issue.record("record \(next): not a run message")
                return
            }
            #expect(got.map(\.task) == [UInt64(2 * next), UInt64(2 * next + 1)])
            #expect(got.map(\.function) == ["echo", "echo"])
            #expect(try got.map { try JSONChunks.decodeChunk($0.payload, as: [UInt8].self) } == sent[next].map { [$0] })
            next += 1
        }
        for i in 0..<24 {
            let inputs = [Self.bytes(300_000 + i * 977, UInt8(i)), Self.bytes(17 + i, UInt8(i))]
            sent.append(inputs)
            let jobs = inputs.enumerated().map { k, b in
                WorkerMessage.Job(task: UInt64(2 * i + k), function: "echo", payload: b[...], rawBytes: true)
            }
            #expect(ring.post(.run(jobs), channel: 0, scratch: &scratch))
            if i >= 8 {
                try take()
                ring.flushBacklog()
            }
        }
        while next < sent.count {
            ring.flushBacklog()
            try take()
        }
        #expect(ring.backlog.isEmpty)
        #expect(try ring.take(connection: theirs) == nil)
    }

    @Test("a reply of one [UInt8] comes out of the reply ring as that array; other replies as before")
    func replyRingOneArray() throws {
        let ring = try ReplyRing()
        defer { ring.closeDescriptor() }
        var scratch: [UInt8] = []
        // ~250 KB replies in a 1 MiB ring, consumed one by one: it wraps.
        for i in 0..<16 {
            let out = Self.bytes(250_000 + i * 1_001, UInt8(i))
            let two = ScalarChunks.byteArrays([out, [1, 2]][...])
            let ints = try JSONChunks.encodeChunk([5, 6])
            let cases: [(TaskReply, TaskReply)] = [
                (.values(ScalarChunks.byteArrays([out][...])), .valueBytes(out)),
                (.values(ScalarChunks.byteArrays([[]][...])), .valueBytes([])),
                (.values(two), .values(two)),
                (.values(ints), .values(ints)),
                (.mixed(ScalarChunks.byteArrays([out][...])), .mixed(ScalarChunks.byteArrays([out][...]))),
            ]
            for (k, (sent, expected)) in cases.enumerated() {
                let task = UInt64(10 * i + k)
                ReplyRing.record(marker: false, puid: 0, seq: 0, endNs: 0, message: .reply(task, sent), into: &scratch)
                #expect(ring.put(scratch))
                guard let r = ring.peek() else {
                    Issue.record("reply \(task): nothing in the ring")
                    return
                }
                ring.consume(to: r.next)
                #expect(r.reply?.task == task)
                #expect(r.reply?.reply == expected, "reply \(task)")
                // On the wire a one-array reply is the `values` reply of its chunk.
                #expect(WorkerMessage.reply(task, expected).encode() == WorkerMessage.reply(task, sent).encode())
            }
        }
    }

    @Test("a one-array reply gives its caller that array, and the items of any other type they decode to")
    func oneArrayItems() throws {
        let out = Self.bytes(1_000, 9)
        let got = Pool.items(.reply(.valueBytes(out), 1), count: 1, as: [UInt8].self, function: "echo")
        #expect(try got.map { try $0.get() } == [out])
        let mismatch = Pool.items(.reply(.valueBytes(out), 1), count: 2, as: [UInt8].self, function: "echo")
        #expect(mismatch.count == 2)
        #expect(mismatch.allSatisfy { if case .failure(let e) = $0 { e.code == .encoding } else { false } })
        #expect(ChunkOutcome.reply(.valueBytes(out), 1).traceCode == 0)
    }
}
