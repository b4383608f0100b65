import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// A getter (putter) that waited and sees the other side move takes a batch before it goes on
/// (queue.c, `settle`, docs/channels.md "Waiting"): lone items still pass at once, streams keep
/// every item in order, a killed producer leaves a prefix of its items, and waiters still end
/// asleep in the kernel. Untraced (the one-call path a benchmark takes) and traced.
@Suite("Queue streams: batched waiting keeps every item and still sleeps")
struct QueueStreamTests {
    static let expected = ["ping-pong 2000 in order true",
                           "small ring 1x1: 100000 in order true, left 0",
                           "killed producer: signaled(SIGKILL)",
                           "2x2 with a kill: whole true, killed a prefix true (some), in order true, left 0",
                           "getter on an empty queue asleep true",
                           "putter on a full queue asleep true"]

    @Test("untraced: ping-pong, a 16-item ring, 2 x 2 with a producer SIGKILLed; a waiting getter and putter sleep",
          arguments: [StartMethod.fork, .spawn])
    func untraced(method: StartMethod) throws {
        let (out, _) = try TestSupport.runFixture(["queue-streams", method.description], traced: false, timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == Self.expected)
    }

    @Test("traced: the same, and the trace checks (every recv names its send, none twice, producer order)")
    func traced() throws {
        let (out, dir) = try TestSupport.runFixture(["queue-streams", "fork"], timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == Self.expected)
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
