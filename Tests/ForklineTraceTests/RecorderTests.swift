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
}
