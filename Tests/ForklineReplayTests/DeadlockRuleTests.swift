import ForklineReplay
import ForklineTrace
import Testing

/// The `deadlock` rule and the `stuck` note on hand-built traces: a cycle only when nobody
/// outside it can end a wait.
@Suite("deadlock rule and stuck note")
struct DeadlockRuleTests {
    /// A root (pid 600) and `n` fork children (601...), none ended.
    static func family(_ n: Int, _ build: (inout FixtureBuilder, Int, [Int]) -> Void) -> Trace {
        var b = FixtureBuilder()
        let r = b.process(pid: 600, puid: 0x600)
        b.start(r, parent: nil, method: .root, name: "main")
        let kids = (1...n).map { b.fork(r, pid: 600 + Int32($0), puid: 0x600 + UInt64($0), name: "kid-\($0)") }
        build(&b, r, kids)
        return b.trace
    }

    static func wait(_ b: inout FixtureBuilder, _ p: Int, _ what: WaitKind, _ object: UInt64, ref: UInt64 = 0) {
        b.event(p, .waitBegin, [.uint(UInt64(what.rawValue)), .uint(object), .uint(ref)])
    }

    @Test("two receivers on a channel a third, running process also uses: no deadlock (it could send)")
    func orWaitWithARunningSender() {
        let t = Self.family(3) { b, _, k in
            for p in k { b.event(p, .channelOpen, [.uint(0xC), .uint(2)]) }
            Self.wait(&b, k[0], .channel, 0xC)
            Self.wait(&b, k[1], .channel, 0xC)
        }
        #expect(t.check().violations(.deadlock).isEmpty)
        let g = t.waitGraph()
        #expect(g.cycles.isEmpty && g.waits.count == 2 && g.waits[0].satisfiers == [0x602, 0x603])
        #expect(t.statusText().contains("kid-3 (pid 603): running"))
    }

    @Test("a lock wait behind a running holder is no deadlock; status names the holder")
    func lockHeldByRunner() {
        let t = Self.family(1) { b, r, k in
            b.event(k[0], .lockAcquire, [.uint(0x1), .uint(1), .uint(0)])
            Self.wait(&b, r, .lock, 0x1, ref: 1)
        }
        #expect(t.check().violations(.deadlock).isEmpty)
        #expect(t.statusText().contains("main (pid 600): blocked on lock 0000000000000001 held by kid-1 (pid 601)"), "\(t.statusText())")
    }

    @Test("a wait that ended (timed out) is not open: no deadlock")
    func closedWaits() {
        let t = Self.family(2) { b, _, k in
            b.event(k[0], .lockAcquire, [.uint(0xA), .uint(1), .uint(0)])
            b.event(k[1], .lockAcquire, [.uint(0xB), .uint(1), .uint(0)])
            Self.wait(&b, k[0], .lock, 0xB, ref: 1)
            Self.wait(&b, k[1], .lock, 0xA, ref: 1)
            b.event(k[1], .waitEnd, [.uint(UInt64(WaitKind.lock.rawValue)), .uint(0xA), .uint(1)])
        }
        #expect(t.check().violations(.deadlock).isEmpty)
        #expect(t.waitGraph().waits.count == 1)
    }

    @Test("a lock-order cycle is one deadlock naming both processes, their locks and the holder of each")
    func lockCycleMessage() throws {
        let t = Self.family(2) { b, _, k in
            b.event(k[0], .lockAcquire, [.uint(0xA), .uint(1), .uint(0)])
            b.event(k[1], .lockAcquire, [.uint(0xB), .uint(1), .uint(0)])
            Self.wait(&b, k[0], .lock, 0xB, ref: 1)
            Self.wait(&b, k[1], .lock, 0xA, ref: 1)
        }
        let v = try #require(t.check().violations(.deadlock).first)
        #expect(t.check().violations(.deadlock).count == 1)
        #expect(v.message.contains("kid-1 (pid 601) is blocked on lock 000000000000000b held by kid-2 (pid 602)"), "\(v.message)")
        #expect(v.message.contains("kid-2 (pid 602) is blocked on lock 000000000000000a held by kid-1 (pid 601)"), "\(v.message)")
        #expect(v.message.contains("take the locks in one order"))
        #expect(v.pids == [601, 602] && v.events.allSatisfy { $0.kind == .waitBegin })
    }

    @Test("a get on a queue whose only producer exited is a stuck note, not a violation")
    func stuckQueue() {
        let t = Self.family(2) { b, _, k in
            b.event(k[0], .send, [.uint(0x9), .uint(8)])
            b.exit(k[0], 0)
            b.event(k[1], .recv, [.uint(0x9), .uint(0x601), .uint(1), .uint(8)])
            Self.wait(&b, k[1], .queueGet, 0x9)
        }
        let report = t.check()
        #expect(report.violations(.deadlock).isEmpty)
        #expect(report.notes.contains { $0.hasPrefix("stuck: kid-2 (pid 602) is blocked to get from empty queue 0000000000000009 (every producer has ended: kid-1 (pid 601))") }, "\(report.notes)")
    }

    @Test("a receive whose sending end no process has used has unknown satisfiers: neither stuck nor deadlocked")
    func unknownSender() {
        let t = Self.family(1) { b, _, k in
            b.event(k[0], .channelOpen, [.uint(0xD), .uint(0)])
            Self.wait(&b, k[0], .channel, 0xD)
        }
        let report = t.check()
        #expect(report.violations(.deadlock).isEmpty && !report.notes.contains { $0.hasPrefix("stuck:") })
        #expect(t.statusText().contains("no process has used its other end"))
    }
}

extension DeadlockRuleTests {
    @Test("a process whose tracing stopped (traceCut) counts as running: its open wait is no deadlock")
    func cutTraceIsRunning() {
        let t = Self.family(2) { b, _, k in
            b.event(k[0], .lockAcquire, [.uint(0xA), .uint(1), .uint(0)])
            b.event(k[1], .lockAcquire, [.uint(0xB), .uint(1), .uint(0)])
            Self.wait(&b, k[0], .lock, 0xB, ref: 1)
            Self.wait(&b, k[1], .lock, 0xA, ref: 1)
            b.event(k[1], .traceCut, [.int(0), .int(0)])
        }
        #expect(t.check().violations(.deadlock).isEmpty)
        #expect(t.waitGraph().waits.count == 1)
    }
}
