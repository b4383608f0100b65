import ForklineReplay
import ForklineTrace
import Testing

/// Issue 13's mutation classes, seeded into the message fixtures' valid scenes: each mutant must
/// be caught as exactly one violation of its rule, and the unmutated scene must check OK.
@Suite("Message mutations")
struct MessageMutationTests {
    /// The recvs of `trace`'s process `puid`, by position.
    static func recvPositions(_ trace: Trace, _ puid: UInt64) -> [Int] {
        trace.process(puid)!.events.indices.filter { trace.process(puid)!.events[$0].kind == .recv }
    }

    /// `trace` with `change` applied to the events of process `puid`.
    static func mutate(_ trace: Trace, _ puid: UInt64, _ change: (inout [TraceEvent]) -> Void) -> Trace {
        var ps = trace.processes
        let i = ps.firstIndex { $0.header.puid == puid }!
        change(&ps[i].events)
        return Trace(processes: ps)
    }

    /// Removes the event at `position`, renumbering the later ones when `renumber` (no gap).
    static func drop(_ events: inout [TraceEvent], _ position: Int, renumber: Bool) {
        events.remove(at: position)
        if renumber { for j in position..<events.count { events[j].seq -= 1 } }
    }

    @Test("the valid scenes check OK")
    func validScenes() {
        for t in [MessageScenes.stream(), MessageScenes.duplexBothWays(), MessageScenes.queueTwoProducers(), MessageScenes.pingPong()] {
            let r = check(t)
            #expect(r.ok, "\(r.violations)")
        }
    }

    @Test("a message lost in the middle of a pipe stream is a lost-message violation, with and without a gap in the receiver's sequence numbers")
    func lostMidStream() {
        let valid = MessageScenes.stream()
        let middle = Self.recvPositions(valid, 0x1301)[1]
        for renumber in [false, true] {
            let mutant = Self.mutate(valid, 0x1301) { Self.drop(&$0, middle, renumber: renumber) }
            let r = check(mutant)
            #expect(r.violations.map(\.rule) == [.lostMessage], "renumber \(renumber): \(r.violations)")
            #expect(r.violations.first?.message.contains("process main (pid 1300)") == true)
            #expect(r.violations.first?.message.contains("process worker (pid 1301)") == true)
        }
    }

    @Test("a lost message whose receiver died stays a note: the trace cannot tell it from a message the dying process took")
    func lostWithDeadReceiver() {
        let valid = MessageScenes.stream()
        let middle = Self.recvPositions(valid, 0x1301)[1]
        let mutant = Self.mutate(valid, 0x1301) { events in
            Self.drop(&events, middle, renumber: true)
            // The worker is killed instead of exiting (and main's join says so).
            events.removeLast()
        }
        var ps = mutant.processes
        let m = ps.firstIndex { $0.header.puid == 0x1300 }!
        let j = ps[m].events.firstIndex { $0.kind == .join }!
        ps[m].events[j].args[2] = .status(.signaled(9))
        let r = check(Trace(processes: ps))
        #expect(r.ok, "\(r.violations)")
        #expect(r.notes.contains { $0.contains("never received") })
    }

    @Test("messages never received at the end of a stream stay a note")
    func tailUnreceived() {
        let r = check(MessageScenes.stream(taken: [0, 1]))
        #expect(r.ok, "\(r.violations)")
        #expect(r.notes.contains { $0.contains("1 message(s) never received") })
    }

    @Test("a recv whose size differs from its send's is a size-mismatch")
    func resizedRecv() {
        let valid = MessageScenes.stream()
        let middle = Self.recvPositions(valid, 0x1301)[1]
        for size in [UInt64(0), 7, 9, 1 << 20] {
            let mutant = Self.mutate(valid, 0x1301) { $0[middle].args[3] = .uint(size) }
            let r = check(mutant)
            #expect(r.violations.map(\.rule) == [.sizeMismatch], "size \(size): \(r.violations)")
        }
    }

    @Test("two recvs swapped on one direction of a duplex connection are out of order")
    func duplexSwap() {
        let valid = MessageScenes.duplexBothWays()
        for puid in [UInt64(0x1300), 0x1301] {
            let recvs = Self.recvPositions(valid, puid)
            let mutant = Self.mutate(valid, puid) { events in
                let (a, b) = (events[recvs[0]].args, events[recvs[1]].args)
                events[recvs[0]].args = b
                events[recvs[1]].args = a
            }
            let r = check(mutant)
            #expect(r.violations.map(\.rule) == [.outOfOrderRecv], "receiver \(hex16(puid)): \(r.violations)")
        }
    }

    @Test("one producer's items taken out of put order from a two-producer queue are out of order")
    func queueProducerSwap() {
        let r = check(MessageScenes.queueTwoProducers(swapped: true))
        #expect(r.violations.map(\.rule) == [.outOfOrderRecv], "\(r.violations)")
        #expect(r.violations.first?.message.contains("process producer (pid 1302)") == true)
    }

    @Test("one process's clock shifted by +-10 s still checks OK: clocks are compared only within a process")
    func shiftedClock() {
        for scene in [MessageScenes.stream(), MessageScenes.duplexBothWays(), MessageScenes.queueTwoProducers(),
                      MessageScenes.pingPong(), MessageScenes.joinThenMessage(afterJoin: false)] {
            for p in scene.processes {
                // +10 s on one process; -10 s on it is +10 s on every other one.
                let late = MessageScenes.shifted(scene, puid: p.header.puid, by: MessageScenes.tenSeconds)
                var early = scene
                for q in scene.processes where q.header.puid != p.header.puid {
                    early = MessageScenes.shifted(early, puid: q.header.puid, by: MessageScenes.tenSeconds)
                }
                for t in [late, early] {
                    let r = check(t)
                    #expect(r.ok, "\(p.name) shifted: \(r.violations)")
                }
            }
        }
    }

    @Test("a causal order broken while every clock reads in order is caught: a recv caused by itself")
    func causalCycle() {
        let r = check(MessageScenes.pingPong(selfCaused: true))
        #expect(r.violations.map(\.rule) == [.recvBeforeSend], "\(r.violations)")
    }

    @Test("a join that happens before the child's last event by the causal references is join-before-end, whatever the clocks")
    func joinCausal() {
        let t = MessageScenes.joinThenMessage(afterJoin: true)
        for shifted in [t, MessageScenes.shifted(t, puid: 0x1300, by: MessageScenes.tenSeconds)] {
            let r = check(shifted)
            #expect(r.violations.map(\.rule) == [.joinBeforeEnd], "\(r.violations)")
        }
    }
}
