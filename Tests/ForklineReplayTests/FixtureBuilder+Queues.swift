import ForklineReplay
import ForklineTrace

extension GoldenFixtures {
    /// Queue fixtures (invariant 4 on a many-ended channel): queue 0x9E, opened as kind 3.
    static func queueFixtures() -> [(name: String, valid: Bool, trace: Trace, rules: [String])] {
        let queue: UInt64 = 0x9E
        func open(_ b: inout FixtureBuilder, _ p: Int) { b.event(p, .channelOpen, [.uint(queue), .uint(3)]) }
        func put(_ b: inout FixtureBuilder, _ p: Int) -> UInt64 { b.event(p, .send, [.uint(queue), .uint(8)]) }
        func get(_ b: inout FixtureBuilder, _ p: Int, from s: Int, _ seq: UInt64) {
            b.event(p, .recv, [.uint(queue), .uint(b.processes[s].header.puid), .uint(seq), .uint(8)])
        }
        /// main (pid 500) forks two producers and two consumers, runs `body`, joins all.
        func scene(_ body: (inout FixtureBuilder, [Int]) -> Void) -> Trace {
            var b = FixtureBuilder()
            let root = b.process(pid: 500, puid: 0x500)
            b.start(root, parent: nil, method: .root, name: "main")
            open(&b, root)
            let names = ["producer1", "producer2", "consumer1", "consumer2"]
            let kids = names.enumerated().map { b.fork(root, pid: 501 + Int32($0.offset), puid: 0x501 + UInt64($0.offset), name: $0.element) }
            for k in kids { open(&b, k) }
            body(&b, [root] + kids)
            for k in kids { b.exit(k, 0) }
            for k in kids { b.join(root, k, .exited(0)) }
            b.event(root, .channelClose, [.uint(queue)])
            b.exit(root, 0)
            return b.trace
        }
        var out: [(String, Bool, Trace, [String])] = []
        // Two producers, two consumers, a JoinableQueue's taskDone and join; one item is left in
        // the queue (a note, not a violation).
        out.append(("queue-two-producers-two-consumers", true, scene { b, p in
            let a1 = put(&b, p[1]), b1 = put(&b, p[2]), a2 = put(&b, p[1]), b2 = put(&b, p[2])
            get(&b, p[3], from: p[1], a1); b.event(p[3], .queueTaskDone, [.uint(queue), .uint(3)])
            get(&b, p[4], from: p[2], b1); b.event(p[4], .queueTaskDone, [.uint(queue), .uint(2)])
            get(&b, p[3], from: p[1], a2); b.event(p[3], .queueTaskDone, [.uint(queue), .uint(1)])
            _ = b2
        }, []))
        // One item got by two consumers.
        out.append(("queue-duplicate-recv", false, scene { b, p in
            let a1 = put(&b, p[1]), a2 = put(&b, p[1])
            get(&b, p[3], from: p[1], a1)
            get(&b, p[4], from: p[1], a1)
            get(&b, p[4], from: p[1], a2)
        }, ["duplicate-recv"]))
        // One producer: a consumer that gets its items out of put order.
        out.append(("queue-out-of-order", false, scene { b, p in
            let a1 = put(&b, p[1]), a2 = put(&b, p[1])
            get(&b, p[3], from: p[1], a2)
            get(&b, p[3], from: p[1], a1)
        }, ["out-of-order-recv"]))
        return out
    }
}
