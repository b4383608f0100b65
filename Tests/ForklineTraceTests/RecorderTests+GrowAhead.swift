import CForkline
import Foundation
import ForklineTestSupport
import ForklineTrace
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Minor page faults of the calling thread so far. RUSAGE_THREAD counts the faults a
/// `madvise(MADV_POPULATE_WRITE)` takes in the kernel for the thread that calls it (one per page
/// of a new trace chunk), which the user-mode fault counter of `noFaultPerPage` does not see.
private func threadMinorFaults() -> Int {
    var usage = rusage()
    getrusage(1, &usage)  // RUSAGE_THREAD (Linux; Glibc's module does not import it)
    return usage.ru_minflt
}

// In RecorderTests's suite, which is serialized (tracing is on for the whole test process).
extension RecorderTests {
    /// Making a trace file's pages (posix_fallocate, then populating the mapping) costs ~2 us a
    /// page on tmpfs here: most of a traced queue put+get (docs/trace-format.md, "What recording
    /// costs"). A busy process's chunks are made ahead, by another thread, while the current one
    /// fills: the recording thread makes only the first small chunks itself.
    @Test("a busy trace's pages are made off the recording thread, and every event is in the file")
    func pagesMadeAhead() throws {
        let dir = TestSupport.temporaryDirectory("forkline-recorder-ahead")
        try Tracer.start(directory: dir)
        defer { Tracer.stop() }
        // 8 MiB of 40-byte records: 2,048 pages in chunks doubling to 2 MiB. Made by the
        // recording thread, each page is one minor fault of its populating madvise.
        let events = (8 << 20) / 40, batch = 500
        Tracer.mark("warm")
        let before = threadMinorFaults()
        var waited = 0
        for start in stride(from: 0, to: events, by: batch) {
            for i in start..<min(start + batch, events) { Tracer.mark(i == events - 1 ? "last" : "a static label") }
            // A grow makes the chunk itself when the grower has not begun it (on a loaded machine
            // it may not have had a CPU yet). Waiting here for the chunk asked for gives the
            // grower its time: a batch (20 KB) is smaller than any chunk the grower makes
            // (128 KiB on), so no grow comes before the next wait. Bounded at 60 s a wait.
            var polls = 0
            while fl_trace_ahead_pending() != 0 && polls < 60_000 { usleep(1_000); polls += 1 }
            waited += polls
        }
        let faults = threadMinorFaults() - before
        #expect(Tracer.isEnabled, "tracing did not stop (no trace cut) while recording")
        // The chunks up to the grow-ahead threshold (4 to 64 KiB: 31 pages) are made here.
        #expect(faults < 256, "\(faults) minor faults on the recording thread over 2,048 trace pages (\(waited) ms waited for the grower)")
        let path = try #require(Tracer.filePath)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let trace = try data.withUnsafeBytes { try ProcessTrace(bytes: $0, source: path) }
        #expect(trace.damage.isEmpty)
        let marks = trace.events.filter { $0.kind == .mark }
        #expect(marks.count == events + 1)
        #expect(marks.last?["label"]?.string == "last")
        for (a, b) in zip(trace.events, trace.events.dropFirst()) { #expect(a.seq + 1 == b.seq) }
    }
}
