import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Producers and consumers of a queue do not wait for each other's critical sections: the fast
/// path of a 1 producer 1 consumer queue then has no lock both sides take (docs/channels.md).
@Suite("Queue puts and gets have separate locks")
struct QueueSidesTests {
    @Test("puts go on while a getter is stopped inside get; its death is recovered and nothing is lost",
          arguments: [StartMethod.fork, .spawn])
    func putsPassAStoppedGetter(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["queue-sides", method.description], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["child holding the get side", "put 1000 while a getter held the get side",
                              "status signaled(SIGKILL)", "after the kill: got 1000, in order true, left 0"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(trace.events(.recv).count >= 1001)
        #expect(trace.events(.mark).contains { $0["label"]?.string?.contains("recovered") == true })
    }

    @Test("a getter's lock whose holder was SIGKILLed is taken over before the holder is reaped (a zombie)",
          arguments: [StartMethod.fork, .spawn])
    func zombieHolder(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["queue-zombie-holder", method.description], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["child holding the get side", "before the reap: got 100, in order true, left 0",
                              "status signaled(SIGKILL)"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(trace.events(.mark).contains { $0["label"]?.string?.contains("recovered") == true })
    }

    @Test("a getter SIGKILLed asleep in get is not counted asleep for good (puts would wake nobody)",
          arguments: [StartMethod.fork, .spawn])
    func deadSleeper(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["queue-dead-sleeper", method.description], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["getters asleep: 1", "status signaled(SIGKILL)", "after the puts: getters asleep 0"])
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
