import ForklineReplay
import ForklineTrace
import Testing

/// Issue 13 item 5: one fault is one violation, and messages say what the trace shows.
@Suite("One fault, one violation")
struct OneFaultTests {
    /// main (pid 1500) forks a child (pid 1501); `child` builds the child's own events.
    static func scene(childEvents: (inout FixtureBuilder, Int) -> Void, parent: (inout FixtureBuilder, Int, Int) -> Void) -> Trace {
        var b = FixtureBuilder()
        let root = b.process(pid: 1500, puid: 0x1500)
        b.start(root, parent: nil, method: .root, name: "main")
        b.event(root, .fork, [.int(1501), .uint(0x1501), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
        let c = b.process(pid: 1501, puid: 0x1501, ppid: 1500)
        childEvents(&b, c)
        parent(&b, root, c)
        return b.trace
    }

    @Test("a child SIGKILLed before it recorded anything (an empty trace file) and joined with that signal checks OK")
    func emptyFileKilled() {
        let t = Self.scene(childEvents: { _, _ in }, parent: { b, r, c in
            b.event(r, .kill, [.int(1501), .uint(0x1501), .int(9)])
            b.join(r, c, .signaled(9))
            b.exit(r, 0)
        })
        let report = check(t)
        #expect(report.ok, "\(report.violations)")
    }

    @Test("a child killed on its way out (its exit recorded, then its parent's SIGKILL) checks OK; the same status with no signal sent is a status-mismatch")
    func killedAfterItsExit() {
        // Seen in PoolServiceTests (a pool whose workers cannot start): a worker recorded
        // exit(3), the pool's kill of its workers landed before it was gone, the join saw SIGKILL.
        func scene(sent: Bool) -> Trace {
            Self.scene(childEvents: { b, c in
                b.start(c, parent: 0, forkSeq: 1, method: .fork, name: "PoolWorker-4")
                b.exit(c, 3)
            }, parent: { b, r, c in
                if sent { b.event(r, .kill, [.int(1501), .uint(0x1501), .int(9)]) }
                b.join(r, c, .signaled(9))
                b.exit(r, 0)
            })
        }
        let killed = check(scene(sent: true))
        #expect(killed.ok, "\(killed.violations)")
        let unexplained = check(scene(sent: false))
        #expect(unexplained.violations.map(\.rule) == [.statusMismatch], "\(unexplained.violations)")
    }

    @Test("a dropped start is one no-start, not also a join-not-parent")
    func droppedStart() {
        let t = Self.scene(childEvents: { b, c in
            b.event(c, .mark, [.string("working")])
            b.exit(c, 0)
        }, parent: { b, r, c in
            b.join(r, c, .exited(0))
            b.exit(r, 0)
        })
        let report = check(t)
        #expect(report.violations.map(\.rule) == [.noStart], "\(report.violations)")
    }

    @Test("a parent that recorded no end (it ended with _exit, or was killed) is described as such when its child is unjoined")
    func parentWithoutExit() {
        var b = FixtureBuilder()
        let root = b.process(pid: 1600, puid: 0x1600)
        b.start(root, parent: nil, method: .root, name: "main")
        let c = b.fork(root, pid: 1601, puid: 0x1601, name: "worker")
        b.exit(c, 0)
        let report = check(b.trace)
        #expect(report.violations.map(\.rule) == [.missingJoin], "\(report.violations)")
        let message = report.violations.first?.message ?? ""
        #expect(message.contains("recorded no exit"), "\(message)")
        #expect(message.contains("process worker (pid 1601)") && message.contains("process main (pid 1600)"), "\(message)")
    }
}
