import Foundation
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("The recorder", .serialized)
struct RecorderTests {
    @Test("events recorded in this process are in its file, in order, from many threads")
    func recordsFromThreads() throws {
        let dir = TestSupport.temporaryDirectory("forkline-recorder")
        try Tracer.start(directory: dir)
        // The test process is shared by every test target: tracing must not stay on for the
        // tests that run after this one.
        defer {
            Tracer.stop()
            #expect(!Tracer.isEnabled && Tracer.directory == nil, "tracing is off again")
        }
        #expect(Tracer.isEnabled)
        let threads = 4, perThread = 5_000
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            for _ in 0..<perThread { Tracer.mark("x") }
        }
        Tracer.mark("last \(threads)")
        let path = try #require(Tracer.filePath)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let trace = try data.withUnsafeBytes { try ProcessTrace(bytes: $0, source: path) }
        #expect(trace.damage.isEmpty)
        #expect(trace.events.first?.kind == .start)
        let marks = trace.events.filter { $0.kind == .mark }
        #expect(marks.count == threads * perThread + 1)
        #expect(marks.last?["label"]?.string == "last 4")
        // Sequence numbers and times increase in file order, across chunk boundaries.
        for (a, b) in zip(trace.events, trace.events.dropFirst()) {
            #expect(a.seq + 1 == b.seq)
            #expect(a.time <= b.time)
        }
    }

    @Test("a mark's label is recorded whole up to 65,535 bytes, a longer one cut at a character with an eventTruncated naming the mark")
    func markLabels() throws {
        let dir = TestSupport.temporaryDirectory("forkline-recorder-marks")
        try Tracer.start(directory: dir)
        defer { Tracer.stop() }
        let longest = String(repeating: "a", count: 65_535)
        // 65,534 ASCII bytes and a 3-byte character across the limit: cut before the character.
        let across = String(repeating: "b", count: 65_534) + "\u{20AC}" + "tail"
        let staticLabel: StaticString = "a static label"
        Tracer.mark(staticLabel)
        Tracer.mark("")
        Tracer.mark(longest)
        Tracer.mark(across)
        Tracer.mark("after \(2)")
        let path = try #require(Tracer.filePath)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let trace = try data.withUnsafeBytes { try ProcessTrace(bytes: $0, source: path) }
        #expect(trace.damage.isEmpty)
        let marks = trace.events.filter { $0.kind == .mark }
        #expect(marks.map { $0["label"]?.string?.utf8.count } == [14, 0, 65_535, 65_534, 7])
        #expect(marks.first?["label"]?.string == "a static label")
        #expect(marks[2]["label"]?.string == longest)
        #expect(marks[3]["label"]?.string == String(repeating: "b", count: 65_534))
        #expect(marks.last?["label"]?.string == "after 2")
        let cut = trace.events.filter { $0.kind == .eventTruncated }
        #expect(cut.count == 1)
        #expect(cut.first?["kind"]?.uint == UInt64(EventKind.mark.rawValue))
        #expect(cut.first?["needed"]?.uint == UInt64(2 + across.utf8.count))
        #expect(cut.first?["seq"]?.uint == marks[3].seq)
        #expect(cut.first?["recorded"]?.uint == 1)
    }
}
