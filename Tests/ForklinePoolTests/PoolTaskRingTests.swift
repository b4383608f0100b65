import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// The task ring (issue 14): the pool's messages to a local worker go through shared memory, so
/// a busy worker takes its tasks without a system call; the fixture's `taskring-*` scenarios.
@Suite("Pool: tasks through the task ring")
struct PoolTaskRingTests {
    static let methods = ["fork", "spawn", "forkserver"]

    @Test("a busy worker takes 4,000 tiny tasks with (almost) no read system call", arguments: methods)
    func noReadsPerTask(method: String) throws {
        // Untraced: this counts the worker's own reads, and the recorder's are not the pool's.
        let (out, _) = try TestSupport.runFixture(["taskring-reads", method, "1"], traced: false, timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.first == "results ok", "\(out.lines)")
        let reads = out.lines.last.flatMap { $0.hasPrefix("reads ") ? Int($0.dropFirst(6)) : nil }
        // Over its connection a worker reads each batch (at most 64 tasks) with one read or
        // more: >= 60 reads for 4,000 tasks. From the ring: none per batch; a few allowed for
        // whatever else the process reads.
        #expect(reads != nil && reads! <= 8, "\(out.lines)")
    }

    @Test("inputs larger than the ring takes (1.2 MB) arrive whole and in order among small ones; the trace checks", arguments: methods)
    func largeInputs(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["taskring-large", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["large ok"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // Each task message sent was received, whichever way it went (ring or connection).
        let sends = trace.processes.flatMap { $0.events.filter { $0.kind == .send } }.count
        let recvs = trace.processes.flatMap { $0.events.filter { $0.kind == .recv } }.count
        #expect(sends == recvs, "\(sends) sends, \(recvs) receives")
    }

    @Test("a worker killed before it took the task waiting in its ring: that task runs on the replacement, not failed",
          arguments: methods)
    func untakenTaskRuns(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["taskring-untaken", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["first 9", "untaken 25", "after 36"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // Dispatched twice (attempts 0 and 1), begun once.
        let task = trace.processes.flatMap { $0.events.filter { $0.kind == .poolDispatch } }.filter { $0["attempt"]?.uint == 1 }
        #expect(task.count == 1)
    }

    @Test("a worker asleep on its empty ring takes the next task, and exits when the pool closes", arguments: methods)
    func idleWorkerWakes(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["taskring-idle", method, "1"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["first 9", "second 16", "worker gone"])
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
