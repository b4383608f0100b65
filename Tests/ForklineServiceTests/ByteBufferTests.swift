import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// swift-nio's `ByteBuffer` as a pool task's input and output (ForklineService), run by the
/// service fixture in real pools; the trace's message sizes show the bytes travel as bytes.
@Suite("ByteBuffer pool tasks")
struct ByteBufferTests {
    @Test("a ByteBuffer goes to a worker and back as its bytes (no JSON): 256 KiB in about 256 KiB on the wire each way",
          arguments: ["forkserver", "spawn", "fork"])
    func byteBufferRoundTrip(method: String) throws {
        let r = try PoolServiceTests().run(["buffers", "--method", method])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["apply true count 262144 left 0", "map [[3, 2, 1, 3, 0, 0, 0], [0, 0, 0, 0], [3, 2, 1, 3, 0, 0, 0]]"])
        #expect(r.report.ok, "\(r.report.violations)")
        // The largest message each way holds the 256 KiB and little else: as JSON numbers the
        // same bytes took 3-4 times as many.
        let sizes = r.events(.send).compactMap { $0["size"]?.uint }
        let big = sizes.filter { $0 >= 256 << 10 }
        #expect(big.count >= 2, "\(sizes.sorted().suffix(4))")
        #expect(big.allSatisfy { $0 < (256 << 10) + 1024 }, "\(big)")
    }
}
