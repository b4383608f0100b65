import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// The pool's replies with failed items and its initializer's arguments are in the binary codec
/// (docs/codec.md), as its plain values are: values JSON cannot carry arrive, and bytes travel as
/// bytes. The fixture's output and the trace's `send` sizes are the oracle.
@Suite("Pool: failed-item replies and initializer arguments in the binary codec")
struct PoolBinaryRepliesTests {
    @Test("a chunk with a failed item delivers its other outputs, an infinite Double included, and its bytes as bytes",
          arguments: ["fork", "spawn"])
    func mixedChunk(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["poolbin-mixed", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["mixed 0.0 inf taskFailed boom at 2 3.0", "bytes ok ok taskFailed ok"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // Three 64 KiB outputs and one failure: as JSON numbers they were ~700 KB. The failure
        // carries the worker's backtrace of its throw (frames with their module's path: ~2.8 KB
        // seen), hence 8 KiB over the outputs' bytes.
        let sizes = trace.processes.flatMap { $0.events.filter { $0.kind == .send } }.compactMap { $0["size"]?.uint }
        #expect(sizes.max().map { $0 <= UInt64(3 * (64 << 10)) + 8192 } == true, "largest message \(sizes.max() ?? 0) bytes")
    }

    @Test("an initializer's arguments reach every worker intact, an infinite Double included",
          arguments: ["fork", "spawn", "forkserver"])
    func initializerArguments(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["poolbin-init", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["init scale inf table 100000 sum 12742320"])
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
