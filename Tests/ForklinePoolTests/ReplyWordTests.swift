@testable import ForklinePool
import Testing

/// A reply of one `Int` or `Double` (a task at chunksize 1 of the commonest outputs, issue 14):
/// the driver takes it out of the reply ring as the value's 8 bytes, with no byte array per
/// reply, and a chunk's outcome is a few words (a failure's error is boxed), so the driver's and
/// the caller's tables of outcomes copy a few words per task rather than a ``PoolError``'s 137
/// bytes. On the wire the reply stays the `values` reply of its chunk. (The end-to-end check
/// through real workers and the trace is ``PoolTests``' maps of `Int`.)
@Suite("Pool one-word replies")
struct ReplyWordTests {
    static func reply(_ ring: ReplyRing, _ task: UInt64, _ sent: TaskReply, _ scratch: inout [UInt8]) -> TaskReply? {
        ReplyRing.record(marker: false, puid: 0, seq: 0, endNs: 0, message: .reply(task, sent), into: &scratch)
        #expect(ring.put(scratch))
        guard let r = ring.peek() else { return nil }
        ring.consume(to: r.next)
        #expect(r.reply?.task == task)
        return r.reply?.reply
    }

    @Test("a reply of one Int or one Double comes out of the reply ring without a byte array, and decodes to that value")
    func oneWord() throws {
        let ring = try ReplyRing()
        defer { ring.closeDescriptor() }
        var scratch: [UInt8] = []
        var task: UInt64 = 0
        // Enough replies to wrap the 1 MiB ring (40 bytes a record).
        for round in 0..<3_000 {
            for v in [Int.min, -1, 0, 42 &* round, Int.max] {
                task += 1
                let sent = TaskReply.values(try JSONChunks.encodeChunk([v]))
                guard let got = Self.reply(ring, task, sent, &scratch) else {
                    Issue.record("reply \(task): nothing in the ring")
                    return
                }
                if case .values = got { Issue.record("reply \(task): one Int came out as a byte array") }
                #expect(try Pool.items(.reply(got, 7), count: 1, as: Int.self, function: "f").map { try $0.get() } == [v])
                #expect(WorkerMessage.reply(task, got).encode() == WorkerMessage.reply(task, sent).encode())
                #expect(ChunkOutcome.reply(got, 7).traceCode == 0)
            }
        }
        for v in [0.5, -3e300, Double.infinity] {
            task += 1
            let sent = TaskReply.values(try JSONChunks.encodeChunk([v]))
            let got = try #require(Self.reply(ring, task, sent, &scratch))
            if case .values = got { Issue.record("reply \(task): one Double came out as a byte array") }
            #expect(try Pool.items(.reply(got, 7), count: 1, as: Double.self, function: "f").map { try $0.get() } == [v])
            #expect(WorkerMessage.reply(task, got).encode() == WorkerMessage.reply(task, sent).encode())
            // Asked for as another type: a clear encoding error, not a reinterpretation.
            let wrong = Pool.items(.reply(got, 7), count: 1, as: String.self, function: "f")
            #expect(wrong.count == 1 && wrong.allSatisfy { if case .failure(let e) = $0 { e.code == .encoding } else { false } })
        }
        // Other replies as before: two values, a mixed chunk, a one-String chunk.
        for sent in [TaskReply.values(try JSONChunks.encodeChunk([5, 6])), .mixed(try JSONChunks.encodeChunk([5])),
                     .values(try JSONChunks.encodeChunk(["abcdefgh"]))] {
            task += 1
            #expect(Self.reply(ring, task, sent, &scratch) == sent)
        }
    }

    @Test("a map's one-word outcomes join into its results in order; any other outcome takes the general path")
    func joinWords() throws {
        let ints = [3, -9, Int.max]
        let words = ints.map { ChunkOutcome?.some(.reply(.valueWord(tag: ScalarChunks.intTag, bits: UInt64(bitPattern: Int64($0))), 1)) }
        #expect(Pool.joinedWords(words, as: Int.self) == ints)
        #expect(Pool.joinedWords(words, as: Double.self) == nil)
        #expect(Pool.joinedWords(words, as: String.self) == nil)
        var mixed = words
        mixed[1] = .reply(.values(try JSONChunks.encodeChunk([-9])), 1)
        #expect(Pool.joinedWords(mixed, as: Int.self) == nil)
        mixed[1] = nil
        #expect(Pool.joinedWords(mixed, as: Int.self) == nil)
        #expect(Pool.joinedWords([], as: Int.self) == [])
    }

    @Test("a chunk's outcome is a few words: a failure's error is boxed")
    func outcomeSize() {
        // Before: 137 bytes, 152 with its index (a PoolError in place), copied for every task several times.
        #expect(MemoryLayout<ChunkOutcome>.size <= 32)
        #expect(MemoryLayout<(Int, ChunkOutcome)>.stride <= 40)
        let e = PoolError(.workerDied, "task 3: its worker died")
        guard case .failure(let back) = ChunkOutcome.failure(e) else {
            Issue.record("not a failure")
            return
        }
        #expect(back == e)
    }
}
