import ForklineTestSupport
import Foundation
import Testing

/// What a porter of CPython's multiprocessing reaches for (issue 15 items 9-11, 13): process
/// identity and `cpuCount`, a sentinel wait on "child ended or message arrived", async join and
/// receive with timeouts, `mapAsync`/`starmapAsync`; run by the service fixture, checked by what
/// it prints and by its trace.
@Suite("Porter's API: identity, sentinel wait, async timeouts, mapAsync")
struct PorterAPITests {
    @Test("identity, sentinel, timeouts and mapAsync behave as CPython's", arguments: ["spawn", "forkserver", "fork"])
    func porter(method: String) throws {
        let r = try PoolServiceTests().run(["porter", "--method", method])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        let nproc = try TestSupport.run("/usr/bin/nproc", []).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(r.lines == [
            "named child exited(0)",              // current.name and parent.pid seen by the child
            "active 2",                           // activeChildren: the two still running
            "cpuCount \(nproc)",                  // the CPUs this process may run on
            "join timeout nil",                   // async join(timeout:) while it runs
            "join after kill Optional(signaled(SIGKILL))",
            "join after kill Optional(signaled(SIGKILL))",
            "active after joins 0",
            "wait 1 true",                        // the child ended, no message: [.child]
            "wait 2 true",                        // a message, the child runs: [.connection]
            "receive Optional([1.5, 2.5])",       // receive(timeout:) gets it, typed
            "receive timeout empty",              // nothing within the timeout: ChannelError empty
            "relayed bytes encoding",             // receiveBytes + sendBytes lose the type
            "relayed raw Optional([3.5, 4.5])",   // receiveRaw + send(RawMessage) keep it
            "wait 3 true",                        // neither within the timeout: []
            "condition true",                     // async Condition wait, notified by a child
            "condition timeout false",            // and its timeout
            "mapAsync [1, 4, 9, 16, 25] ready=true",
            "starmapAsync [1024, 27]",
            "starmap of triples [10, 37]",
        ])
        #expect(r.report.ok, "\(r.report.violations)")
    }
}
