import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Pools that used to hang or stall (issue 10 items 3 and 10), run as real programs: they must
/// end (each run has a minute; a hang fails it), print what they should, and leave a trace that
/// `check` accepts. The thousand-run figures come from `Tools/pool-hang-loop`.
@Suite("Pools that used to hang or stall")
struct PoolHangTests {
    func run(_ arguments: [String]) throws -> (TestSupport.Output, CheckReport) {
        let (out, dir) = try TestSupport.runFixture(arguments, timeout: 60)
        let (_, report) = try TestSupport.checkedTrace(dir)
        return (out, report)
    }

    @Test("fork pools whose workers are killed for timeouts or by their own tasks, with maxTasksPerChild 3: every run ends, results in order (several runs)",
          arguments: [["pool-timeout", "fork", "1"], ["pool-retire-kill", "fork", "3"]])
    func forkPoolsEnd(arguments: [String]) throws {
        let runs = arguments[0] == "pool-timeout" ? 4 : 8
        for _ in 0..<runs {
            let (out, report) = try run(arguments)
            #expect(out.status == 0, "\(arguments): \(out.stderr)")
            if arguments[0] == "pool-timeout" {
                #expect(out.lines == ["slow timedOut signal=9", "fast [1, 2, 3, 4]", "after 25"])
            } else {
                let round = "ok 9 died 3 other [] killers' map threw workerDied imap 0 d 0 0 0 d 0 0 0 d 0 0 map in order"
                #expect(out.lines == (0..<3).map { "round \($0) \(round)" })
            }
            #expect(report.ok, "\(report.violations)")
        }
    }

    @Test("a worker whose connection ended but that has not exited does not stop the pool: a map runs meanwhile",
          arguments: ["fork", "spawn", "forkserver"])
    func endedWorkerDoesNotStall(method: String) throws {
        let (out, report) = try run(["pool-linger", method])
        #expect(out.status == 0, "\(out.stderr)")
        // Before: the driver waited up to 10 s in the ended worker's join, then SIGKILLed it;
        // the map ran only after ("alive: false", "signal=9").
        // Its reply, published after its connection ended, counts (it failed with workerDied,
        // signal 0, before the driver read the replies of a worker it reaped).
        #expect(out.lines == ["ended worker seen true", "map in order while the ended worker was alive: true", "lingerer returned its pid true"])
        #expect(report.ok, "\(report.violations)")
    }

    @Test("with tracing off, a crashed worker's signal, fault address and backtrace reach PoolError (the crash handler's report area)",
          arguments: ["fork", "spawn", "forkserver"])
    func crashReportUntraced(method: String) throws {
        let (out, _) = try TestSupport.runFixture(["pool-crash", method], traced: false, timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "0 ok 0",
            "1 workerDied signal=SIGKILL pid=set backtrace=none",
            "5 ok 5",
            "2 workerDied signal=SIGSEGV pid=set backtrace=yes",
            "6 ok 6",
            "3 workerDied signal=SIGILL pid=set backtrace=yes",
            "7 ok 7",
            "chunk workerDied workerDied workerDied",
            "descriptors leaked 0",
        ])
    }
}
