import CForkline
import Foundation
import ForklineTestSupport
import ForklineTrace
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Whether the kernel lets this process count its page faults (perf_event_paranoid).
private let faultsCountable: Bool = {
    let fd = fl_page_fault_counter_open()
    if fd >= 0 { close(fd) }
    return fd >= 0
}()

// In RecorderTests's suite, which is serialized: tracing is on for the whole test process while
// a recorder test runs, and another one's `Tracer.stop` would end this one's trace.
extension RecorderTests {
    /// On a file system that tracks dirty pages (ext4, the temporary directory here), a page of
    /// a shared file mapping populated for reading took a write-protect fault at its first store:
    /// one fault per ~100 events, a quarter of an event's cost. A chunk's pages are mapped
    /// writable when the chunk is made, so recording itself takes none.
    @Test("recording events over thousands of trace pages takes no page fault in the recording thread",
          .enabled(if: faultsCountable, "the kernel does not count page faults for this process (perf_event_paranoid)"))
    func noFaultPerPage() throws {
        // The counter counts the thread that opens it: this one, which records.
        let fd = fl_page_fault_counter_open()
        try #require(fd >= 0)
        defer { close(fd) }
        let dir = TestSupport.temporaryDirectory("forkline-recorder-faults")
        try Tracer.start(directory: dir)
        defer { Tracer.stop() }
        // 8 MiB of 40-byte records: 2,048 pages, in chunks of 4 KiB doubling to 4 MiB (each grow
        // is a posix_fallocate and a populated mapping, whose faults are the kernel's).
        let events = (8 << 20) / 40
        Tracer.mark("warm")  // binds the mark path's calls before counting
        let before = fl_page_fault_counter_read(fd)
        for _ in 0..<events { Tracer.mark("a static label") }
        let faults = fl_page_fault_counter_read(fd) - before
        #expect(before >= 0)
        #expect(Tracer.isEnabled, "tracing did not stop (no trace cut) while recording")
        // A handful are allowed (a first use of a libc function's page); one per page is the bug.
        #expect(faults < 32, "\(faults) page faults while recording \(events) events over 2,048 pages")
    }
}

extension RecorderTests {
    /// The recorder reads the TSC and converts it at a rate it measures against clock_gettime
    /// (trace_clock.c): its times must still be CLOCK_MONOTONIC's, which other processes' events
    /// and the checker's cross-process comparisons (barriers, assertions) rely on.
    @Test("an event's time lies between CLOCK_MONOTONIC read just before and just after recording it (1 us slack), across re-calibrations")
    func timesAreMonotonicClock() throws {
        let dir = TestSupport.temporaryDirectory("forkline-recorder-clock")
        try Tracer.start(directory: dir)
        defer { Tracer.stop() }
        var brackets: [(UInt64, UInt64)] = []
        for round in 0..<40 {
            for _ in 0..<500 {
                let before = fl_monotonic_ns()
                Tracer.mark("clock")
                brackets.append((before, fl_monotonic_ns()))
            }
            // Past the clock's 2 ms between calibrations, and idle gaps of several lengths.
            usleep(UInt32(500 + 1_000 * (round % 5)))
        }
        let path = try #require(Tracer.filePath)
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let trace = try data.withUnsafeBytes { try ProcessTrace(bytes: $0, source: path) }
        let marks = trace.events.filter { $0.kind == .mark && $0["label"]?.string == "clock" }
        try #require(marks.count == brackets.count)
        var outside = 0, worst: Int64 = 0
        for (mark, (before, after)) in zip(marks, brackets) {
            let early = Int64(before) - Int64(mark.time), late = Int64(mark.time) - Int64(after)
            if early > 1_000 || late > 1_000 { outside += 1 }
            worst = max(worst, early, late)
        }
        #expect(outside == 0, "\(outside) of \(marks.count) times more than 1 us outside their bracket (worst \(worst) ns)")
        for (a, b) in zip(marks, marks.dropFirst()) { #expect(a.time <= b.time) }
    }
}
