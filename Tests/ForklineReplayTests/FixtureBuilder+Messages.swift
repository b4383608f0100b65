import ForklineReplay
import ForklineTrace
import Testing

extension GoldenFixtures {
    /// Message fixtures of issue 13: lost messages, sizes, FIFO per sender and direction, and
    /// causal order decided without comparing clocks across processes.
    ///
    /// main (pid 1300) forks a child (pid 1301); pipe 0x13C carries main's messages to the child,
    /// duplex connection 0x13D carries both ways, queue 0x13E (kind 3) gets a second producer
    /// (pid 1302).
    static func messageFixtures() -> [(name: String, valid: Bool, trace: Trace, rules: [String])] {
        var out: [(String, Bool, Trace, [String])] = []
        for f in MessageScenes.all { out.append((f.name, f.valid, f.trace, f.rules)) }
        return out
    }
}

/// The scenes behind ``GoldenFixtures/messageFixtures()``, also mutated by the message mutation
/// tests.
enum MessageScenes {
    static let pipe: UInt64 = 0x13C, duplex: UInt64 = 0x13D, queue: UInt64 = 0x13E

    struct Scene {
        var b = FixtureBuilder()
        var main = 0, child = 0, producer = 0
        init(producer withProducer: Bool = false) {
            main = b.process(pid: 1300, puid: 0x1300)
            b.start(main, parent: nil, method: .root, name: "main")
            child = b.fork(main, pid: 1301, puid: 0x1301, name: "worker")
            if withProducer { producer = b.fork(main, pid: 1302, puid: 0x1302, name: "producer") }
        }
        mutating func open(_ p: Int, _ channel: UInt64, kind: UInt64) { b.event(p, .channelOpen, [.uint(channel), .uint(kind)]) }
        mutating func close(_ p: Int, _ channel: UInt64) { b.event(p, .channelClose, [.uint(channel)]) }
        @discardableResult
        mutating func send(_ p: Int, _ channel: UInt64, size: UInt64 = 8, at time: UInt64? = nil) -> UInt64 {
            b.event(p, .send, [.uint(channel), .uint(size)], at: time)
        }
        mutating func recv(_ p: Int, _ channel: UInt64, from s: Int, _ seq: UInt64, size: UInt64 = 8, at time: UInt64? = nil) {
            b.event(p, .recv, [.uint(channel), .uint(b.processes[s].header.puid), .uint(seq), .uint(size)], at: time)
        }
        /// The children exit, main joins them and exits.
        mutating func finish() -> Trace {
            let kids = producer == 0 ? [child] : [child, producer]
            for k in kids { b.exit(k, 0) }
            for k in kids { b.join(main, k, .exited(0)) }
            b.exit(main, 0)
            return b.trace
        }
    }

    /// main sends three messages on the pipe; the child takes `taken` of them (by position) with
    /// `size` for the recv of the second; both ends close.
    static func stream(taken: [Int] = [0, 1, 2], secondSize: UInt64 = 8) -> Trace {
        var s = Scene()
        s.open(s.main, pipe, kind: 1)
        s.open(s.child, pipe, kind: 0)
        let seqs = (0..<3).map { _ in s.send(s.main, pipe) }
        for i in taken { s.recv(s.child, pipe, from: s.main, seqs[i], size: i == 1 ? secondSize : 8) }
        s.close(s.main, pipe)
        s.close(s.child, pipe)
        return s.finish()
    }

    /// Both ends of the duplex connection send two messages; each takes the other's in order
    /// unless `swapped`, where main takes the child's two the other way round.
    static func duplexBothWays(swapped: Bool = false) -> Trace {
        var s = Scene()
        s.open(s.main, duplex, kind: 2)
        s.open(s.child, duplex, kind: 2)
        let m1 = s.send(s.main, duplex), m2 = s.send(s.main, duplex)
        let c1 = s.send(s.child, duplex), c2 = s.send(s.child, duplex)
        s.recv(s.child, duplex, from: s.main, m1)
        s.recv(s.child, duplex, from: s.main, m2)
        let order = swapped ? [c2, c1] : [c1, c2]
        for c in order { s.recv(s.main, duplex, from: s.child, c) }
        return s.finish()
    }

    /// main and the producer put two items each on the queue; the child gets all four,
    /// interleaved, each producer's in put order unless `swapped` (the producer's two reversed).
    static func queueTwoProducers(swapped: Bool = false) -> Trace {
        var s = Scene(producer: true)
        for p in [s.main, s.child, s.producer] { s.open(p, queue, kind: 3) }
        let a1 = s.send(s.main, queue), b1 = s.send(s.producer, queue)
        let a2 = s.send(s.main, queue), b2 = s.send(s.producer, queue)
        s.recv(s.child, queue, from: s.producer, swapped ? b2 : b1)
        s.recv(s.child, queue, from: s.main, a1)
        s.recv(s.child, queue, from: s.main, a2)
        s.recv(s.child, queue, from: s.producer, swapped ? b1 : b2)
        return s.finish()
    }

    /// A ping-pong: main sends a ping on the pipe, the child receives it and sets event 0x13F
    /// (generation 1), main waits for the event and sends a second message on the connection,
    /// which the child receives.
    /// When `selfCaused`, the child's recv names main's second send instead, which main makes
    /// only after the event the child sets after that recv: the recv is caused by itself. The
    /// clocks are written so that every comparison across processes reads in order (the child's
    /// clock runs late), except the event's set and wait, which only the causal graph orders.
    static func pingPong(selfCaused: Bool = false) -> Trace {
        var s = Scene()
        s.open(s.main, pipe, kind: 1)
        s.open(s.child, pipe, kind: 0)
        s.open(s.main, duplex, kind: 2)
        s.open(s.child, duplex, kind: 2)
        let t = s.b.clock
        let ping = s.send(s.main, pipe)
        let second = ping + 2  // after main's eventWait
        if selfCaused {
            s.recv(s.child, duplex, from: s.main, second, at: t + 50_000)
            s.b.event(s.child, .eventSet, [.uint(0x13F), .uint(1)], at: t + 51_000)
            s.b.event(s.main, .eventWait, [.uint(0x13F), .uint(1), .uint(1)], at: t + 10_000)
            #expect(s.send(s.main, duplex, at: t + 11_000) == second)
            s.recv(s.child, pipe, from: s.main, ping, at: t + 52_000)
        } else {
            s.recv(s.child, pipe, from: s.main, ping, at: t + 50_000)
            s.b.event(s.child, .eventSet, [.uint(0x13F), .uint(1)], at: t + 51_000)
            s.b.event(s.main, .eventWait, [.uint(0x13F), .uint(1), .uint(1)], at: t + 52_000)
            #expect(s.send(s.main, duplex, at: t + 53_000) == second)
            s.recv(s.child, duplex, from: s.main, second, at: t + 54_000)
        }
        s.b.clock = t + 60_000
        return s.finish()
    }

    /// A parent that joins its child, then sends it a message the child receives before its
    /// exit: the join happens before the child's last event by the causal references alone
    /// (the clocks read in order). Valid when `afterJoin` is false (the message is sent before
    /// the join).
    static func joinThenMessage(afterJoin: Bool) -> Trace {
        var s = Scene()
        s.open(s.main, pipe, kind: 1)
        s.open(s.child, pipe, kind: 0)
        if afterJoin {
            // The join names the child's exit, recorded later by the clock but joined first.
            s.b.join(s.main, s.child, .exited(0))
            let m = s.send(s.main, pipe)
            s.recv(s.child, pipe, from: s.main, m)
            s.b.exit(s.child, 0)
        } else {
            let m = s.send(s.main, pipe)
            s.recv(s.child, pipe, from: s.main, m)
            s.b.exit(s.child, 0)
            s.b.join(s.main, s.child, .exited(0))
        }
        s.b.exit(s.main, 0)
        return s.b.trace
    }

    /// `trace` with every time of the process `puid` moved by `delta` ns.
    static func shifted(_ trace: Trace, puid: UInt64, by delta: Int64) -> Trace {
        var ps = trace.processes
        for i in ps.indices where ps[i].header.puid == puid {
            ps[i].header.startTime = UInt64(Int64(ps[i].header.startTime) + delta)
            for j in ps[i].events.indices { ps[i].events[j].time = UInt64(Int64(ps[i].events[j].time) + delta) }
        }
        return Trace(processes: ps)
    }

    static let tenSeconds: Int64 = 10_000_000_000

    static var all: [(name: String, valid: Bool, trace: Trace, rules: [String])] {
        [
            ("pipe-stream", true, stream(), []),
            ("lost-message", false, stream(taken: [0, 2]), ["lost-message"]),
            ("size-mismatch", false, stream(secondSize: 9), ["size-mismatch"]),
            ("duplex-both-ways", true, duplexBothWays(), []),
            ("duplex-out-of-order", false, duplexBothWays(swapped: true), ["out-of-order-recv"]),
            ("queue-per-producer-order", true, queueTwoProducers(), []),
            ("queue-producer-out-of-order", false, queueTwoProducers(swapped: true), ["out-of-order-recv"]),
            ("ping-pong-clock-shifted", true, shifted(pingPong(), puid: 0x1301, by: tenSeconds), []),
            ("recv-caused-by-itself", false, pingPong(selfCaused: true), ["recv-before-send"]),
        ]
    }
}
