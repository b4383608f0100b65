import Foundation
import ForklineReplay
import ForklineTestSupport
import Testing

/// How much of the ring a queue item takes: the sender (puid and send sequence) is stored only
/// when the put is traced, so an untraced plain-data item is a 16-byte record, not 32
/// (docs/channels.md, "Records"). Run in fixture processes: a tracer started by another test
/// in this process would make these puts traced.
@Suite("Queue records: a sender only when traced")
struct QueueRecordSizeTests {
    @Test("an untraced Int takes 16 bytes of the ring: a 256-byte ring holds 16, in order")
    func untracedHoldsSixteen() throws {
        let (out, _) = try TestSupport.runFixture(["queue-record-sizes", "fork"], traced: false, timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["a 256-byte ring holds 16 Ints in order"])
    }

    @Test("a traced Int keeps its sender (32 bytes: a 256-byte ring holds 8); every recv names its send")
    func tracedHoldsEight() throws {
        let (out, dir) = try TestSupport.runFixture(["queue-record-sizes", "fork"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["a 256-byte ring holds 8 Ints in order"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(trace.events(.send).count == 8 && trace.events(.recv).count == 8)
    }

    @Test("records with and without a sender, side by side in one small ring, wrap around its end intact")
    func mixedRecordsWrap() throws {
        let dir = TestSupport.temporaryDirectory("forkline-trace")
        let (out, _) = try TestSupport.runFixture(["queue-record-sizes", "fork", dir], traced: false, timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["a 256-byte ring holds 16 Ints in order", "status exited(0)",
                              "mixed: got 3000 untraced and 3000 traced, 0 wrong"])
        // The traced producer's sends are in its trace (its getter was untraced: no recv).
        let trace = try Trace.load(path: dir)
        #expect(trace.events(.send).count == 3000)
    }
}
