import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Connections between processes, checked on the trace")
struct CrossProcessTests {
    @Test("ping-pong with a child of each start method: every answer arrives, every recv names the send in the other process",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func pingPong(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["pingpong", method.description, "200"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["status exited(0)", "answers ok"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(report.notes.isEmpty, "\(report.notes)")
        let sends = trace.events(.send), recvs = trace.events(.recv)
        #expect(sends.count == 400 && recvs.count == 400)
        for r in recvs {
            let id = EventID(puid: r["senderPuid"]?.uint ?? 0, seq: r["sendSeq"]?.uint ?? 0)
            #expect(id.puid != r.puid, "a recv names a send of the other process")
            let ordered = trace.happensBefore(id, r.id)
            #expect(ordered, "send \(id) happens before recv \(r.id)")
        }
        // Each ping's answer comes after the ping was received: ping i -> pong i -> next ping.
        let parent = try #require(trace.processes(named: "main").first)
        #expect(trace.processes(named: "ponger").count == 1)
        let parentSends = parent.events.filter { $0.kind == .send }
        let parentRecvs = parent.events.filter { $0.kind == .recv }
        let chained = zip(parentSends, parentRecvs).allSatisfy { trace.happensBefore($0.id, $1.id) }
        #expect(chained)
    }
}
