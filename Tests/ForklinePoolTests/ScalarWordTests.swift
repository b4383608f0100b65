@testable import ForklinePool
import ForklineCodec
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Every fixed-width scalar (the integers of each width, `Double`, `Float`, `Bool`) travels in
/// raw chunks of one word a value, and a reply of one of them is a one-word reply
/// (``TaskReply/valueWord(tag:bits:)``), as `Int` and `Double` did (issue 14: the service row's
/// tasks return `UInt64`). A chunk or word of one type asked for as another is an encoding
/// error, not a reinterpretation.
@Suite("Pool scalar chunks and one-word replies of every fixed-width type")
struct ScalarWordTests {
    static let scalarWordSquare = PoolFunction<UInt64, UInt64>("scalarword-test-square") { $0 &* $0 }
    static let scalarWordFives = PoolFunction<Int, UInt64>("scalarword-test-fives") { x in
        if x % 5 == 0 { throw ScalarWordBoom() }
        return UInt64(x)
    }

    struct ScalarWordBoom: Error {}

    /// Chunks of `values` at several chunksizes are `tag`'s raw chunks and decode back, each
    /// and all joined; a reply of each one value comes out of the reply ring as a word, decodes
    /// to it, is the same on the wire, and asked for as `Other` is an encoding error.
    func check<T: Codable & Equatable & Sendable, Other: Codable>(_ values: [T], tag: UInt8, other: Other.Type) throws {
        for chunksize in [1, 2, 7, 1_000] {
            let chunks = try JSONChunks.encodeChunks(values, chunksize: chunksize)
            #expect(chunks.allSatisfy { $0.first == tag && $0.count == 5 + 8 * (try! JSONChunks.decodeChunk($0, as: T.self)).count })
            #expect(try JSONChunks.decodeAll(chunks, as: T.self) == values)
            var one: [T] = []
            for c in chunks { one += try JSONChunks.decodeChunk(c, as: T.self) }
            #expect(one == values)
            #expect(ScalarChunks.joinWords(chunks, as: Other.self) == nil)
        }
        let ring = try ReplyRing()
        defer { ring.closeDescriptor() }
        var scratch: [UInt8] = []
        var words: [ChunkOutcome?] = []
        for (task, v) in values.enumerated() {
            let sent = TaskReply.values(try JSONChunks.encodeChunk([v]))
            let got = try #require(ReplyWordTests.reply(ring, UInt64(task), sent, &scratch))
            guard case .valueWord(let t, _) = got, t == tag else {
                Issue.record("\(T.self) \(v): came out of the ring as \(got)")
                continue
            }
            #expect(try Pool.items(.reply(got, 7), count: 1, as: T.self, function: "f").map { try $0.get() } == [v])
            #expect(WorkerMessage.reply(UInt64(task), got).encode() == WorkerMessage.reply(UInt64(task), sent).encode())
            let wrong = Pool.items(.reply(got, 7), count: 1, as: Other.self, function: "f")
            #expect(wrong.count == 1 && wrong.allSatisfy { if case .failure(let e) = $0 { e.code == .encoding } else { false } })
            words.append(.reply(got, 7))
        }
        #expect(Pool.joinedWords(words, as: T.self) == values)
        #expect(Pool.joinedWords(words, as: Other.self) == nil)
    }

    static func integers<T: FixedWidthInteger & Codable>(_: T.Type) -> [T] { [.min, .max, 0, 1, T(truncatingIfNeeded: -2), T(truncatingIfNeeded: 0x1234_5678_9ABC)] }

    @Test("each fixed-width integer, Float and Bool: raw chunks and one-word replies round trip; another type's tag is refused")
    func everyScalar() throws {
        try check(Self.integers(UInt64.self), tag: ScalarChunks.uint64Tag, other: Int.self)
        try check(Self.integers(Int64.self), tag: ScalarChunks.int64Tag, other: UInt64.self)
        try check(Self.integers(UInt.self), tag: ScalarChunks.uintTag, other: Int64.self)
        try check(Self.integers(Int32.self), tag: ScalarChunks.int32Tag, other: UInt32.self)
        try check(Self.integers(UInt32.self), tag: ScalarChunks.uint32Tag, other: Float.self)
        try check(Self.integers(Int16.self), tag: ScalarChunks.int16Tag, other: Int.self)
        try check(Self.integers(UInt16.self), tag: ScalarChunks.uint16Tag, other: Int16.self)
        try check(Self.integers(Int8.self), tag: ScalarChunks.int8Tag, other: UInt8.self)
        try check(Self.integers(UInt8.self), tag: ScalarChunks.uint8Tag, other: Bool.self)
        try check(Self.integers(Int.self), tag: ScalarChunks.intTag, other: UInt.self)
        try check([0.5, -0.0, .infinity, -1e300, .leastNonzeroMagnitude] as [Double], tag: ScalarChunks.doubleTag, other: Float.self)
        try check([1.5, -0.0, .infinity, .greatestFiniteMagnitude, .leastNonzeroMagnitude] as [Float], tag: ScalarChunks.floatTag, other: Double.self)
        try check([true, false, false, true], tag: ScalarChunks.boolTag, other: UInt8.self)
        try check(Self.integers(UInt64.self), tag: ScalarChunks.uint64Tag, other: String.self)
    }

    @Test("a chunk of UInt64 in the binary codec (a worker from before the raw form) still decodes; a malformed raw chunk is refused")
    func fallbacks() throws {
        let values: [UInt64] = [7, .max, 0]
        let binary = try BinaryEncoder().encode(values)
        #expect(try JSONChunks.decodeChunk(binary, as: UInt64.self) == values)
        #expect(try JSONChunks.decodeAll([binary, JSONChunks.encodeChunk(values)], as: UInt64.self) == values + values)
        var chunk = try JSONChunks.encodeChunk(values)
        chunk[1] &+= 1  // says 4 words, holds 3
        #expect(throws: (any Error).self) { try JSONChunks.decodeChunk(chunk, as: UInt64.self) }
        #expect(ScalarChunks.wordCount(chunk[...], tag: ScalarChunks.uint64Tag) == nil)
    }

    @Test("a worker's chunk of scalars: its reply is the raw chunk of the outputs; an item that throws is reported at its place")
    func workerChunk() throws {
        for n in [0, 1, 9, 4_001] {
            let inputs = (0..<UInt64(n)).map { $0 &* 0x9E37_79B9 }
            let reply = Self.scalarWordSquare.runChunk(try JSONChunks.encodeChunk(inputs)[...], pool: 0, task: 0)
            #expect(reply == .values(try JSONChunks.encodeChunk(inputs.map { $0 &* $0 })))
        }
        let inputs = Array(3..<12)
        guard case .mixed(let bytes) = Self.scalarWordFives.runChunk(try JSONChunks.encodeChunk(inputs)[...], pool: 0, task: 0) else {
            Issue.record("a chunk with throwing items did not come back mixed")
            return
        }
        let outcomes = try JSONChunks.decodeOutcomes(bytes, as: UInt64.self).map { o -> String in
            switch o {
            case .value(let v): "\(v)"
            case .thrown(let type, _, _): type.hasSuffix("ScalarWordBoom") ? "boom" : type
            }
        }
        #expect(outcomes == ["3", "4", "boom", "6", "7", "8", "9", "boom", "11"])
        // A chunk of another scalar type: bad input, not a reinterpretation.
        let other = Self.scalarWordFives.runChunk(try JSONChunks.encodeChunk([UInt64(3)])[...], pool: 0, task: 0)
        guard case .badInput = other else {
            Issue.record("a chunk of UInt64 run as Int inputs: \(other)")
            return
        }
    }

    static let methods = ["fork", "spawn", "forkserver"]

    func fixture(_ scenario: String, _ method: String) throws -> (TestSupport.Output, Trace, CheckReport) {
        let (out, dir) = try TestSupport.runFixture([scenario, method, "1"], timeout: 120)
        let (trace, report) = try TestSupport.checkedTrace(dir)
        return (out, trace, report)
    }

    @Test("map over each scalar type through real workers: sizes 0, 1, odd and large, automatic chunks and chunksize 1, imap, apply",
          arguments: methods)
    func maps(method: String) throws {
        let (out, trace, report) = try fixture("poolscalar-map", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "Int ok UInt ok Int64 ok UInt64 ok", "Int32 ok UInt32 ok Int16 ok UInt16 ok", "Int8 ok UInt8 ok Double ok Float ok",
            "Bool ok", "widen ok",
        ])
        #expect(report.ok, "\(report.violations)")
        // The 600,000-input map's automatic chunks (75,000) are capped to a ring record's 65,530.
        let submits = trace.processes.flatMap { $0.events.filter { $0.kind == .poolSubmit } }
        let largest = submits.map { $0["count"]?.uint ?? 0 }.max() ?? 0
        #expect(largest <= 65_530 && largest > 60_000, "largest chunk \(largest)")
        #expect(Dictionary(grouping: submits, by: { $0["call"]?.uint ?? 0 }).values.contains { $0.count == 10 })
    }

    @Test("a UInt64 map with a throwing item throws the first in input order; imap yields each error at its place", arguments: methods)
    func throwingItem(method: String) throws {
        let (out, _, report) = try fixture("poolscalar-throw", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "map 0 threw taskFailed boom at 5", "map 1 threw taskFailed boom at 5", "map 4 threw taskFailed boom at 5",
            "imap 3 4 taskFailed 6 7 8 9 taskFailed 11", "after [3, 6]",
        ])
        #expect(report.ok, "\(report.violations)")
    }

    @Test("a worker killed in the middle of a UInt64 chunk fails that chunk's items with workerDied; the rest come back once", arguments: methods)
    func killedMidChunk(method: String) throws {
        let (out, trace, report) = try fixture("poolscalar-kill", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "imap 100 101 102 103 workerDied workerDied workerDied workerDied", "map threw workerDied", "after [3, 6, 9]",
        ])
        let left = report.violations.filter { !PoolTests.causedBySIGKILL($0, trace) }
        #expect(left.isEmpty, "\(left)")
        let begins = Dictionary(grouping: trace.processes.flatMap { $0.events.filter { $0.kind == .taskBegin } },
                                by: { [$0["pool"]!.uint!, $0["task"]!.uint!] })
        #expect(begins.values.allSatisfy { $0.count == 1 })
    }
}
