import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("Children that exit early, floods of messages and starts, too few descriptors")
struct ProcessFaultTests {
    @Test("a child that exits while its parent blocks in recv gives EOF, then its exit status",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func exitDuringRecv(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["child-exits-during-recv", method.description], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["recv eof", "status exited(0)"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(trace.events(.recv).isEmpty && trace.events(.send).isEmpty)
    }

    @Test("a child that exits while its parent blocks in a queue get: the get times out with Empty (a queue has no single peer), then the exit status",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func exitDuringGet(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["child-exits-during-get", method.description], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["get empty", "status exited(0)"])
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }

    @Test("a million small messages from a child all arrive, in order")
    func millionMessages() throws {
        let (out, _) = try TestSupport.runFixture(["many-messages", "fork", "1000000"], traced: false, timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["received 1000000 sum \(999_999 * 1_000_000 / 2) in-order true", "status exited(0)"])
    }

    @Test("traced, every one of 20,000 messages is received once, each recv naming its send")
    func tracedMessages() throws {
        let (out, dir) = try TestSupport.runFixture(["many-messages", "spawn", "20000"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.first == "received 20000 sum \(19_999 * 20_000 / 2) in-order true")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(report.notes.isEmpty, "no message left unreceived: \(report.notes)")
        #expect(trace.events(.send).count == 20_000 && trace.events(.recv).count == 20_000)
    }

    @Test("10,000 rapid starts are all joined and leave no zombie", arguments: [StartMethod.fork, .forkserver])
    func rapidStarts(method: StartMethod) throws {
        let n = method == .fork ? 10_000 : 3_000
        let (out, _) = try TestSupport.runFixture(["rapid-starts", method.description, "\(n)"], traced: false, timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["joined \(n) failed 0", "zombies 0"])
    }

    @Test("near the descriptor limit, start fails with EMFILE, leaks nothing, and works again after",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func descriptorLimit(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["descriptor-limit", method.description], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.lines
        #expect(lines.first == "error systemCallFailed errno \(EMFILE)", "\(lines)")
        #expect(lines.dropFirst().first?.contains("Too many open files") == true, "\(lines)")
        #expect(lines.contains("leaked []"), "descriptors open after the failed start that were not before: \(lines)")
        #expect(lines.last == "after exited(0)")
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
