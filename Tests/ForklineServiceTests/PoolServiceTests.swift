import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// PoolService under a real ServiceGroup and a real SIGTERM, its logs and metrics, and
/// ForklineCommand: the service fixture's subcommands, checked by what they print and by their
/// trace (`check()` verifies that every worker was joined and every task delivered once).
@Suite("PoolService, telemetry and ForklineCommand")
struct PoolServiceTests {
    init() {}
    struct Run {
        var out: TestSupport.Output
        var trace: Trace
        var report: CheckReport
        var lines: [String] { out.lines }
        func events(_ kind: EventKind) -> [TraceEvent] { trace.processes.flatMap { $0.events.filter { $0.kind == kind } } }
    }

    func run(_ arguments: [String], timeout: Double = 120) throws -> Run {
        let dir = TestSupport.temporaryDirectory("forkline-trace")
        let out = try TestSupport.run(TestSupport.executable("forkline-service-fixture"), arguments,
                                      environment: [Tracer.environmentVariable: dir], timeout: timeout)
        let (trace, report) = try TestSupport.checkedTrace(dir)
        return Run(out: out, trace: trace, report: report)
    }

    @Test("on SIGTERM the pool stops taking work, lets submitted tasks finish, and joins every worker",
          arguments: ["forkserver", "spawn", "fork"])
    func gracefulShutdownDrains(method: String) throws {
        let r = try run(["shutdown", "--tasks", "3", "--task-ms", "300", "--method", method])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(Array(r.lines.prefix(5)) == ["task 0 ok 300", "task 1 ok 300", "task 2 ok 300", "after shutdown closed", "workers 0"])
        #expect(r.report.ok, "\(r.report.violations)")
        #expect(r.events(.poolResult).count == 3)
    }

    @Test("past the shutdown deadline the tasks left are terminated and the workers joined, in bounded time")
    func gracefulShutdownDeadline() throws {
        let r = try run(["shutdown", "--tasks", "2", "--task-ms", "60000", "--deadline-ms", "500"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(Array(r.lines.prefix(4)) == ["task 0 terminated", "task 1 terminated", "after shutdown closed", "workers 0"])
        // The tasks sleep 60 s: the group ended at the deadline, not when they would have.
        let took = r.lines.last.flatMap { $0.split(separator: " ").last.flatMap { Int($0) } } ?? .max
        #expect(took < 30_000, "shutdown took \(took) ms")
        #expect(r.report.ok, "\(r.report.violations)")
    }

    @Test("when the group is cancelled instead (a cancellation signal), the pool is terminated at once and joined")
    func cancelledGroupTerminates() throws {
        let r = try run(["shutdown", "--tasks", "2", "--task-ms", "60000", "--cancel"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(Array(r.lines.prefix(4)) == ["task 0 terminated", "task 1 terminated", "after shutdown closed", "workers 0"])
        #expect(r.report.ok, "\(r.report.violations)")
    }

    @Test("a pool whose workers cannot start ends its service's run with workerStartFailed, so the group learns it")
    func brokenPoolEndsTheGroup() throws {
        let r = try run(["shutdown", "--tasks", "2", "--broken"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(Array(r.lines.prefix(3)) == ["group threw workerStartFailed", "task 0 workerStartFailed", "task 1 workerStartFailed"])
        #expect(r.report.ok, "\(r.report.violations)")
    }

    @Test("swift-log records crashes (with signal and task id) and timeouts; swift-metrics counts them")
    func telemetry() throws {
        let r = try run(["telemetry"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines.contains("map [1, 4, 9, 16, 25]"))
        #expect(r.lines.contains("crash workerDied"))
        #expect(r.lines.contains("timeout timedOut"))
        #expect(r.lines.contains("tasks ok=5 crashed=1 timedOut=1"))
        #expect(r.lines.contains("crashes 1"))
        #expect(r.lines.contains("replacements died=1 timedOut=1"))
        #expect(r.lines.contains("durations 7 positive=true"))
        #expect(r.lines.contains("busy max=2 workers max=2 last=0 pending recorded=true") || r.lines.contains("busy max=1 workers max=2 last=0 pending recorded=true"),
                "\(r.lines)")
        #expect(r.report.ok, "\(r.report.violations)")
        // The log names the task the trace shows failed with its worker's death (outcome 2) and
        // the one that timed out (outcome 3).
        let crashed = r.events(.poolResult).filter { $0["outcome"]?.uint == 2 }.compactMap { $0["task"]?.uint }
        let timedOut = r.events(.poolResult).filter { $0["outcome"]?.uint == 3 }.compactMap { $0["task"]?.uint }
        #expect(crashed.count == 1 && timedOut.count == 1)
        let crashLog = r.lines.first { $0.hasPrefix("log error pool task crashed its worker") }
        #expect(crashLog?.contains("signal=SIGSEGV") == true, "\(r.lines)")
        #expect(fields(crashLog).contains("task=\(crashed.first ?? 0)"), "\(crashLog ?? "no crash log")")
        let timeoutLog = r.lines.first { $0.hasPrefix("log warning pool task timed out") }
        #expect(fields(timeoutLog).contains("task=\(timedOut.first ?? 0)"), "\(timeoutLog ?? "no timeout log")")
        #expect(r.lines.contains { $0.hasPrefix("log error pool worker replaced") && $0.contains("reason=died") })
        #expect(r.lines.contains { $0.hasPrefix("log debug pool worker started") && $0.contains("pool=tele") })
    }

    /// The space-separated words of a log line.
    func fields(_ line: String?) -> [String] { (line ?? "").split(separator: " ").map(String.init) }

    @Test("an argument-parser @main program bootstraps first: options parse in the parent, children run their entry",
          arguments: ["forkserver", "spawn", "fork"])
    func forklineCommand(method: String) throws {
        let r = try run(["command", "--workers", "2", "--method", method, "4"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["\(method) [1, 4, 9, 16]"])
        #expect(r.report.ok, "\(r.report.violations)")
    }

    @Test("a start method that argument-parser cannot parse is a usage error that lists the valid ones")
    func badStartMethod() throws {
        let r = try run(["command", "--method", "thread", "4"])
        #expect(r.out.status == 64)
        #expect(r.out.stderr.contains("fork") && r.out.stderr.contains("forkserver"), "\(r.out.stderr)")
    }
}
