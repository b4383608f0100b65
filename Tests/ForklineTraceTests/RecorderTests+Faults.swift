import CForkline
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
