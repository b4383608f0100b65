import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Real pools, real workers: the fixture program's `pool-*` scenarios, checked by what they print
/// and by their trace (`check()` includes the pool invariant).
@Suite("Pool with real workers")
struct PoolTests {
    static let methods = ["fork", "spawn", "forkserver"]

    struct Run {
        var out: TestSupport.Output
        var trace: Trace
        var report: CheckReport
        var lines: [String] { out.lines }

        func events(_ kind: EventKind) -> [TraceEvent] { trace.processes.flatMap { $0.events.filter { $0.kind == kind } } }
    }

    func run(_ scenario: String, _ method: String, _ n: Int = 1) throws -> Run {
        let (out, dir) = try TestSupport.runFixture([scenario, method, String(n)], timeout: 60)
        let (trace, report) = try TestSupport.checkedTrace(dir)
        return Run(out: out, trace: trace, report: report)
    }

    static let mapCases: [(String, Int)] = methods.flatMap { m in [(m, 1), (m, 3), (m, 0)] }

    @Test("map, imap and imapUnordered: input order for chunksizes 1, 3 and automatic; every result once",
          arguments: mapCases)
    func mapOrdering(method: String, chunksize: Int) throws {
        let r = try run("pool-map", method, chunksize)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["map ok", "imap ok", "unordered ok", "starmap [1024, 27]", "apply 144", "applyAsync 49 ready=true", "empty []"])
        #expect(r.report.ok, "\(r.report.violations)")
        let submits = r.events(.poolSubmit)
        let expectedChunks = chunksize == 0 ? 8 : (50 + chunksize - 1) / chunksize  // automatic: ceil(50 / (4 * 2)) = 7 per chunk
        #expect(submits.filter { $0["call"]?.uint == 1 }.count == expectedChunks)
        // Every task began exactly once and was delivered exactly once.
        #expect(r.events(.taskBegin).count == submits.count)
        #expect(r.events(.poolResult).count == submits.count)
        // The map's results were delivered in input order, after their task ended in a worker.
        let mapResults = r.events(.poolResult).filter { $0["call"]?.uint == 1 }.compactMap { $0["index"]?.uint }
        #expect(mapResults == mapResults.sorted())
        let ends = Dictionary(uniqueKeysWithValues: r.events(.taskEnd).map { ($0["task"]!.uint!, $0) })
        for result in r.events(.poolResult) {
            #expect(r.trace.happensBefore(ends[result["task"]!.uint!]!.id, result.id))
        }
    }

    @Test("a task that throws delivers its error (type, description, worker pid) and the pool goes on", arguments: methods)
    func errorsPropagate(method: String) throws {
        let r = try run("pool-errors", method)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == [
            "map threw taskFailed type=forkline_fixture.PoolBoom description=boom at 3 pid=set",
            "apply 2=20 3=taskFailed 4=40",
            "imap 10 taskFailed 50",
            "closed closed",
        ])
        #expect(r.report.ok, "\(r.report.violations)")
        #expect(r.events(.taskEnd).contains { $0["ok"]?.uint == 0 })
    }

    @Test("maxTasksPerChild replaces workers: no worker runs more than 2 tasks", arguments: methods)
    func maxTasksPerChild(method: String) throws {
        let r = try run("pool-max-tasks", method)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines.contains("max per worker 2"))
        let workers = r.lines.first { $0.hasPrefix("workers ") }.flatMap { Int($0.dropFirst(8)) } ?? 0
        #expect(workers >= 5)
        #expect(r.report.ok, "\(r.report.violations)")
        #expect(r.events(.workerReplaced).filter { $0["reason"]?.uint == 0 }.count >= 3)
        let perWorker = Dictionary(grouping: r.events(.taskBegin), by: \.puid)
        #expect(perWorker.values.allSatisfy { $0.count <= 2 })
    }

    @Test("the initializer runs once in every worker, before its first task", arguments: methods)
    func initializerOncePerWorker(method: String) throws {
        let r = try run("pool-initializer", method)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        // Each task saw an initializer count of 1 in its worker.
        #expect(r.lines.last == "init runs [1]")
        #expect(r.report.ok, "\(r.report.violations)")
        let workers = r.trace.processes.filter { $0.name.hasPrefix("PoolWorker-") }
        #expect(workers.count == 2)
        for worker in workers {
            let marks = worker.events.filter { $0.kind == .mark && $0["label"]?.string == "pool-init 7" }
            #expect(marks.count == 1, "\(worker.name)")
            if let firstTask = worker.events.first(where: { $0.kind == .taskBegin }) {
                #expect(marks.first.map { $0.seq < firstTask.seq } == true)
            }
        }
    }

    @Test("a task past its timeout has its worker killed and replaced; the others finish", arguments: methods)
    func timeoutKillsAndReplaces(method: String) throws {
        let r = try run("pool-timeout", method)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["fast [1, 2, 3, 4]", "slow timedOut signal=9", "after 25"] || r.lines == ["slow timedOut signal=9", "fast [1, 2, 3, 4]", "after 25"])
        #expect(r.report.ok, "\(r.report.violations)")
        #expect(r.events(.kill).count == 1)
        #expect(r.events(.workerReplaced).filter { $0["reason"]?.uint == 2 }.count == 1)
        #expect(r.events(.poolResult).filter { $0["outcome"]?.uint == 3 }.count == 1)
    }

    @Test("a worker that dies mid-task fails just that task (signal, pid, backtrace), and a new worker takes its place",
          arguments: methods)
    func crashFailsOnlyItsTask(method: String) throws {
        let r = try run("pool-crash", method)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == [
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
        #expect(r.report.ok, "\(r.report.violations)")
        #expect(r.events(.crash).compactMap { $0["signal"]?.int }.sorted() == [4, 11])
        #expect(r.events(.workerReplaced).filter { $0["reason"]?.uint == 1 }.count == 4)
        // Every task began at most once: no crash made a task run twice.
        let begins = Dictionary(grouping: r.events(.taskBegin), by: { [$0["pool"]!.uint!, $0["task"]!.uint!] })
        #expect(begins.values.allSatisfy { $0.count == 1 })
    }

    @Test("chaos: workers SIGKILLed at random during 10,000 (fork) and 3,000 (forkserver) tasks; every task ends exactly once, nothing hangs",
          arguments: [("fork", 10_000), ("forkserver", 3_000)])
    func chaos(method: String, tasks: Int) throws {
        let r = try run("pool-chaos", method, tasks)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["accounted \(tasks) of \(tasks)", "died>0 true kills>0 true other 0"])
        #expect(r.report.violations.filter { !Self.causedBySIGKILL($0, r.trace) }.isEmpty, "\(r.report.violations)")
        let submitted = Set(r.events(.poolSubmit).map { $0["task"]!.uint! })
        let delivered = r.events(.poolResult).map { $0["task"]!.uint! }
        #expect(submitted.count == tasks)
        #expect(delivered.count == tasks && Set(delivered) == submitted)
        #expect(r.events(.workerReplaced).count >= 1)
        // Tasks re-dispatched after a crash are shown as retries.
        let retries = r.events(.poolDispatch).filter { ($0["attempt"]?.uint ?? 0) > 0 }
        let dispatchCount = Dictionary(grouping: r.events(.poolDispatch), by: { $0["task"]!.uint! })
        #expect(retries.count == dispatchCount.values.reduce(0) { $0 + $1.count - 1 })
    }

    @Test("chaos with tracing off (the replies' fast path): every task delivered once, none begun twice",
          arguments: [("fork", 10_000), ("spawn", 2_000)])
    func chaosUntraced(method: String, tasks: Int) throws {
        let log = TestSupport.temporaryDirectory("forkline-pool-log") + "/runs"
        let (out, _) = try TestSupport.runFixture(["pool-chaos-logged", method, String(tasks)], traced: false,
                                                   environment: ["POOL_RUN_LOG": log], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["accounted \(tasks) of \(tasks)", "died>0 true kills>0 true other 0"])
        // Each worker notes an input when it begins it: a task re-run after a crash shows twice.
        let begun = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        let counts = Dictionary(grouping: begun, by: { $0 }).mapValues(\.count)
        #expect(counts.values.allSatisfy { $0 == 1 }, "\(counts.filter { $0.value > 1 })")
        #expect(Set(begun).isSubset(of: Set(0..<tasks)))
    }

    @Test("replies too large for the reply ring travel over the connection, in order among small ones",
          arguments: [("fork", 1), ("forkserver", 1), ("spawn", 3)])
    func largeReplies(method: String, chunksize: Int) throws {
        let r = try run("pool-large-replies", method, chunksize)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["large ok"])
        #expect(r.report.ok, "\(r.report.violations)")
        let ends = Dictionary(uniqueKeysWithValues: r.events(.taskEnd).map { ($0["task"]!.uint!, $0) })
        let results = r.events(.poolResult)
        #expect(results.count == ends.count && !results.isEmpty)
        for result in results {
            #expect(r.trace.happensBefore(ends[result["task"]!.uint!]!.id, result.id))
        }
    }

    /// A process SIGKILLed between reserving a trace record and committing it leaves the record
    /// uncommitted (`damaged`): the kill's doing, not the pool's. (A `send` is committed before
    /// its frame is written, so a receiver never names a send the trace lacks.)
    static func causedBySIGKILL(_ v: Violation, _ trace: Trace) -> Bool {
        let killed = Set(trace.processes.flatMap { $0.events }.filter { $0.kind == .join && $0["status"]?.status == .signaled(SIGKILL) }
            .compactMap { $0["childPuid"]?.uint })
        switch v.rule {
        case .damaged:
            guard v.message.contains("reserved but never committed") else { return false }
            return trace.processes.contains { p in v.pids.contains(p.header.pid) && killed.contains(p.header.puid) }
        default: return false
        }
    }

    @Test("cancelling the awaiting Swift task cancels the map's undispatched tasks; the pool goes on", arguments: methods)
    func cancellation(method: String) throws {
        let r = try run("pool-cancel", method)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["map cancelled", "after 9"])
        #expect(r.report.ok, "\(r.report.violations)")
        let results = r.events(.poolResult).filter { $0["call"]?.uint == 1 }
        #expect(results.count == 200)
        let cancelled = results.filter { $0["outcome"]?.uint == 4 }.count
        #expect(cancelled > 100)
        #expect(r.events(.taskBegin).count == 200 - cancelled + 1)
    }

    @Test("terminate fails the running tasks and leaves no worker behind", arguments: methods)
    func terminateLeavesNothing(method: String) throws {
        let r = try run("pool-terminate", method)
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines.last == "terminated terminated terminated terminated terminated")
        let pids = r.lines.first { $0.hasPrefix("pids ") }.map { $0.dropFirst(5).split(separator: " ").compactMap { Int32($0) } } ?? []
        #expect(pids.count == 2)
        for pid in pids { #expect(!TestSupport.isRunning(pid), "worker \(pid) is still running") }
        #expect(r.report.ok, "\(r.report.violations)")
        #expect(r.events(.poolClose).first?["terminate"]?.uint == 1)
    }
}
