import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// `BinaryCodable` across real processes (docs/codec.md, "Code made per type"): the fixture's
/// struct refuses its `Codable` conformance, so a Queue from a child and a pool both ways must
/// each take its own code; the trace check is the oracle for the messages.
@Suite("BinaryCodable across processes")
struct BinaryCodableProcessTests {
    @Test("a BinaryCodable struct goes through a Queue from a child in order, every recv naming its send", arguments: ["fork", "spawn"])
    func queue(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["codec-binary-queue", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["status exited(0)", "queue in order"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let producer = try #require(trace.process(named: "producer"))
        #expect(trace.events(.send).filter { $0.puid == producer.header.puid }.count == 100)
        #expect(trace.events(.recv).count >= 100)
    }

    @Test("a BinaryCodable struct is a pool's input and output, through two workers", arguments: ["fork", "forkserver"])
    func pool(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["codec-binary-pool", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["pool ok"])
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
