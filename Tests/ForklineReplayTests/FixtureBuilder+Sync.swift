import ForklineReplay
import ForklineTrace

extension GoldenFixtures {
    /// Invariant 5 for semaphores, barriers and re-entrant locks, and the event and condition
    /// events: a root (pid 400) and one fork child (pid 401) that both use the primitive.
    static func syncFixtures() -> [(name: String, valid: Bool, trace: Trace, rules: [String])] {
        func pair(_ build: (inout FixtureBuilder, Int, Int) -> Void) -> Trace {
            var b = FixtureBuilder()
            let r = b.process(pid: 400, puid: 0x400)
            b.start(r, parent: nil, method: .root, name: "main")
            let c = b.fork(r, pid: 401, puid: 0x401, name: "Process-1")
            build(&b, r, c)
            b.exit(c, 0); b.join(r, c, .exited(0)); b.exit(r, 0)
            return b.trace
        }
        func sem(_ b: inout FixtureBuilder, _ p: Int, _ kind: EventKind, ticket: UInt64, value: UInt64, capacity: UInt64) {
            b.event(p, kind, [.uint(0x5E4), .uint(ticket), .uint(value), .uint(capacity)])
        }
        func arrive(_ b: inout FixtureBuilder, _ p: Int, round: UInt64, index: UInt64) {
            b.event(p, .barrierArrive, [.uint(0xBA7), .uint(round), .uint(index), .uint(2)])
        }
        func pass(_ b: inout FixtureBuilder, _ p: Int, round: UInt64) { b.event(p, .barrierPass, [.uint(0xBA7), .uint(round), .uint(2)]) }
        func rlock(_ b: inout FixtureBuilder, _ p: Int, _ kind: EventKind, g: UInt64, depth: UInt64) {
            b.event(p, kind, kind == .rlockAcquire ? [.uint(0x2E1), .uint(g), .uint(depth), .uint(0)] : [.uint(0x2E1), .uint(g), .uint(depth)])
        }
        var out: [(String, Bool, Trace, [String])] = []
        out.append(("semaphore-two-holders", true, pair { b, r, c in
            sem(&b, r, .semAcquire, ticket: 1, value: 1, capacity: 2)
            sem(&b, c, .semAcquire, ticket: 2, value: 0, capacity: 2)
            sem(&b, r, .semRelease, ticket: 3, value: 1, capacity: 2)
            sem(&b, c, .semRelease, ticket: 4, value: 2, capacity: 2)
        }, []))
        out.append(("semaphore-over-capacity", false, pair { b, r, c in
            sem(&b, r, .semAcquire, ticket: 1, value: 0, capacity: 1)
            sem(&b, c, .semAcquire, ticket: 2, value: 0, capacity: 1)
            sem(&b, r, .semRelease, ticket: 3, value: 1, capacity: 1)
            sem(&b, c, .semRelease, ticket: 4, value: 1, capacity: 1)
        }, ["semaphore-over-capacity"]))
        out.append(("barrier-rounds", true, pair { b, r, c in
            for round: UInt64 in 0...1 {
                arrive(&b, r, round: round, index: 0); arrive(&b, c, round: round, index: 1)
                pass(&b, c, round: round); pass(&b, r, round: round)
            }
        }, []))
        // main passes, then tells the child, which arrives only after hearing: the pass cannot
        // have followed every arrival (decided on the causal references, not the clocks).
        out.append(("barrier-early-release", false, pair { b, r, c in
            arrive(&b, r, round: 0, index: 0); pass(&b, r, round: 0)
            let m = b.event(r, .send, [.uint(0xC4), .uint(8)])
            b.event(c, .recv, [.uint(0xC4), .uint(0x400), .uint(m), .uint(8)])
            arrive(&b, c, round: 0, index: 1); pass(&b, c, round: 0)
        }, ["barrier-early-release"]))
        // main's pass reads earlier than the child's arrival, but nothing orders them: the
        // child's clock may run ahead (clocks of two processes are not compared).
        out.append(("barrier-clock-skew", true, pair { b, r, c in
            arrive(&b, r, round: 0, index: 0); pass(&b, r, round: 0)
            arrive(&b, c, round: 0, index: 1); pass(&b, c, round: 0)
        }, []))
        // Two operations with one ticket: main's release, which the child heard of before its
        // acquire, comes first in the replay (causal order, not the clocks).
        out.append(("semaphore-shared-ticket", false, pair { b, r, c in
            sem(&b, r, .semAcquire, ticket: 1, value: 0, capacity: 1)
            sem(&b, r, .semRelease, ticket: 2, value: 1, capacity: 1)
            let m = b.event(r, .send, [.uint(0xC4), .uint(8)])
            b.event(c, .recv, [.uint(0xC4), .uint(0x400), .uint(m), .uint(8)])
            sem(&b, c, .semAcquire, ticket: 2, value: 0, capacity: 1)
            sem(&b, c, .semRelease, ticket: 3, value: 1, capacity: 1)
        }, ["semaphore-over-capacity"]))
        out.append(("rlock-nested-holds", true, pair { b, r, c in
            rlock(&b, r, .rlockAcquire, g: 1, depth: 1); rlock(&b, r, .rlockAcquire, g: 1, depth: 2)
            rlock(&b, r, .rlockRelease, g: 1, depth: 1); rlock(&b, r, .rlockRelease, g: 1, depth: 0)
            rlock(&b, c, .rlockAcquire, g: 2, depth: 1); rlock(&b, c, .rlockRelease, g: 2, depth: 0)
        }, []))
        out.append(("rlock-overlapping-holds", false, pair { b, r, c in
            rlock(&b, r, .rlockAcquire, g: 1, depth: 1); rlock(&b, c, .rlockAcquire, g: 1, depth: 2)
            rlock(&b, c, .rlockRelease, g: 1, depth: 1); rlock(&b, r, .rlockRelease, g: 1, depth: 0)
        }, ["overlapping-holds"]))
        // Two processes set one event in the same generation without a causal order between the
        // sets (the second found it set already): the trace cannot say which set woke the
        // waiter, so it orders neither before the wait, and the set that came after the wait
        // by the causal references is no cycle.
        out.append(("event-set-twice", true, {
            var b = FixtureBuilder()
            let root = b.process(pid: 1770, puid: 0x1770)
            b.start(root, parent: nil, method: .root, name: "main")
            let a = b.fork(root, pid: 1771, puid: 0x1771, name: "Process-1")
            let c = b.fork(root, pid: 1772, puid: 0x1772, name: "Process-2")
            b.event(a, .eventSet, [.uint(0xE7), .uint(1)])
            b.event(root, .eventWait, [.uint(0xE7), .uint(1), .uint(1)])
            let m = b.event(root, .send, [.uint(0x17C), .uint(8)])
            b.event(c, .recv, [.uint(0x17C), .uint(0x1770), .uint(m), .uint(8)])
            b.event(c, .eventSet, [.uint(0xE7), .uint(1)])
            b.exit(a, 0); b.exit(c, 0)
            b.join(root, a, .exited(0)); b.join(root, c, .exited(0))
            b.exit(root, 0)
            return b.trace
        }(), []))
        out.append(("event-and-condition", true, pair { b, r, c in
            b.event(r, .eventSet, [.uint(0xE7), .uint(1)])
            b.event(c, .eventWait, [.uint(0xE7), .uint(1), .uint(1)])
            b.event(r, .conditionNotify, [.uint(0xC0), .uint(1), .uint(1)])
            b.event(c, .conditionWait, [.uint(0xC0), .uint(1), .uint(1)])
        }, []))
        return out
    }
}
