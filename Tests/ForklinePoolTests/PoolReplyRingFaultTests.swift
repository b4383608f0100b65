import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// A worker's reply ring under faults (issue 14 item 4): the fixture's `replyring-*` scenarios.
@Suite("Pool: a worker's reply ring under faults")
struct PoolReplyRingFaultTests {
    @Test("a task closes all its worker's descriptors and the reply ring then fills: the worker ends with an error, no trap; the pool goes on",
          arguments: ["fork", "spawn", "forkserver"])
    func closedDescriptorsFullRing(method: String) throws {
        // Whether the pool sees the worker's end before its replies is the kernel's (a forkserver
        // worker's connection may be held open a moment longer elsewhere; the pool then drains
        // every reply and the ring never fills): up to 6 runs, until one took the full-ring path.
        var fullRingRuns = 0
        for _ in 0..<6 where fullRingRuns == 0 {
            let (out, dir) = try TestSupport.runFixture(["replyring-closed-full", method, "1"], timeout: 120)
            #expect(out.status == 0, "\(out.stderr)")
            if out.stderr.contains("while its reply ring was full") {
                fullRingRuns += 1
                // The two replies published after the pool saw the end are delivered (the task
                // of the third, which found the ring full, fails); the last two run on the
                // replacement.
                #expect(out.lines == ["map threw workerDied", "after 36"], "\(out.lines)")
            } else {
                #expect(out.lines == ["map returned 5", "after 36"], "\(out.lines) \(out.stderr)")
            }
            let (trace, report) = try TestSupport.checkedTrace(dir)
            #expect(report.ok, "\(report.violations)")
            // Before: the worker woke the driver or, waiting for room, looked at its connection
            // with calls that take EBADF for Forkline's bug, and trapped (a crash event, SIGILL);
            // and the replies published after the pool saw the end were never read, so those
            // tasks ran again (pool-task-rerun).
            let crashed = trace.processes.filter { $0.events.contains { $0.kind == .crash } }
            #expect(crashed.isEmpty, "\(crashed.map { "\($0.name): \($0.events.suffix(3).map { "\($0.kind)" })" })")
        }
        #expect(fullRingRuns == 1, "no run of 6 filled the ring after the pool saw the end")
    }
}
