import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Bytes through a real pool (docs/codec.md): a 256 KiB `[UInt8]` input and output travel as
/// bytes, not as a JSON array of numbers; the trace's `send` sizes are the oracle.
@Suite("Pool: bytes travel as bytes")
struct PoolBytesTests {
    @Test("256 KiB [UInt8] inputs and outputs and a struct of Data arrive equal, no message much larger than its bytes",
          arguments: ["fork", "spawn"])
    func bytes(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["codec-pool-bytes", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["bytes ok", "blob ok"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let sizes = trace.processes.flatMap { $0.events.filter { $0.kind == .send } }.compactMap { $0["size"]?.uint }
        #expect(!sizes.isEmpty)
        // A 256 KiB input as JSON is ~900 KB ("[0,7,14,...]"); as bytes, 256 KiB and a few
        // headers. A `run` message may carry several tasks (up to the 1 MiB window), so the
        // bound is on all the bytes sent: four inputs and four outputs of 256 KiB, two blobs of
        // ~100 KB each way, and headers.
        let payload = UInt64(8 * (256 << 10) + 4 * 100_001)
        #expect(sizes.reduce(0, +) <= payload + 16 * 1024, "\(sizes.reduce(0, +)) bytes sent for \(payload) bytes of values")
        #expect(sizes.max()! <= UInt64(4 * ((256 << 10) + 1024)), "largest message \(sizes.max()!) bytes")
    }
}
