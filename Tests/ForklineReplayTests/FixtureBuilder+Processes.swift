import ForklineReplay
import ForklineTrace

extension GoldenFixtures {
    /// Invariant 1 and the rules that had no fixture of their own: a root (pid 1700 on) and its
    /// children, one fault each, and valid traces beside them that the rules must accept.
    static func processFixtures() -> [(name: String, valid: Bool, trace: Trace, rules: [String])] {
        /// main forks one child whose own events `child` records; `parent` ends main.
        /// (pids are decimal, puids the same digits in hex, as in the other fixtures.)
        func scene(_ base: Int32, child: (inout FixtureBuilder, Int) -> Void, parent: (inout FixtureBuilder, Int, Int) -> Void) -> Trace {
            var b = FixtureBuilder()
            let root = b.process(pid: base, puid: puid(base))
            b.start(root, parent: nil, method: .root, name: "main")
            b.event(root, .fork, [.int(Int64(base + 1)), .uint(puid(base + 1)), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
            let c = b.process(pid: base + 1, puid: puid(base + 1), ppid: base)
            child(&b, c)
            parent(&b, root, c)
            return b.trace
        }
        func puid(_ pid: Int32) -> UInt64 { UInt64(String(pid), radix: 16)! }
        var out: [(String, Bool, Trace, [String])] = []

        // The child's first record is not its start (the start record was lost).
        out.append(("no-start", false, scene(1700, child: { b, c in
            b.event(c, .mark, [.string("working")])
            b.exit(c, 0)
        }, parent: { b, r, c in
            b.join(r, c, .exited(0)); b.exit(r, 0)
        }), ["no-start"]))

        // The child records a second start.
        out.append(("duplicate-start", false, scene(1710, child: { b, c in
            b.start(c, parent: 0, forkSeq: 1, method: .fork, name: "Process-1")
            b.start(c, parent: 0, forkSeq: 1, method: .fork, name: "Process-1")
            b.exit(c, 0)
        }, parent: { b, r, c in
            b.join(r, c, .exited(0)); b.exit(r, 0)
        }), ["duplicate-start"]))

        // A forkserver child whose start names the server as its parent: its fork names main's
        // request, so main is its parent (and main's join of it is no second violation).
        out.append(("wrong-parent", false, {
            var b = FixtureBuilder()
            let root = b.process(pid: 1720, puid: 0x1720)
            b.start(root, parent: nil, method: .root, name: "main")
            let server = b.fork(root, pid: 1721, puid: 0x1721, method: .spawn, name: "forkserver")
            let req = b.event(root, .request, [.uint(0x1722), .string("work"), .backtrace(.unavailable)])
            let fseq = b.event(server, .fork, [.int(1722), .uint(0x1722), .uint(2), .string("work"), .uint(0x1720), .uint(req), .backtrace(.unavailable)])
            let c = b.process(pid: 1722, puid: 0x1722, ppid: 1721)
            b.start(c, parent: server, forker: server, forkSeq: fseq, method: .forkserver, name: "Process-1")
            b.exit(c, 0)
            b.join(root, c, .exited(0))
            b.exit(server, 0)
            b.join(root, server, .exited(0))
            b.exit(root, 0)
            return b.trace
        }(), ["wrong-parent"]))

        // A sibling joins a child that main forked (and main never does).
        out.append(("join-not-parent", false, {
            var b = FixtureBuilder()
            let root = b.process(pid: 1730, puid: 0x1730)
            b.start(root, parent: nil, method: .root, name: "main")
            let a = b.fork(root, pid: 1731, puid: 0x1731, name: "Process-1")
            let c = b.fork(root, pid: 1732, puid: 0x1732, name: "Process-2")
            b.exit(c, 0)
            b.join(a, c, .exited(0))
            b.exit(a, 0)
            b.join(root, a, .exited(0))
            b.exit(root, 0)
            return b.trace
        }(), ["join-not-parent"]))

        // main forks the child only after receiving a message the child sent after its start:
        // the fork depends on the start it caused, whatever the clocks say.
        out.append(("start-before-fork", false, {
            var b = FixtureBuilder()
            let root = b.process(pid: 1740, puid: 0x1740)
            b.start(root, parent: nil, method: .root, name: "main")
            let c = b.process(pid: 1741, puid: 0x1741, ppid: 1740)
            b.start(c, parent: root, forkSeq: 2, method: .fork, name: "Process-1")
            let m = b.event(c, .send, [.uint(0x17C), .uint(8)])
            b.event(root, .recv, [.uint(0x17C), .uint(0x1741), .uint(m), .uint(8)])
            b.event(root, .fork, [.int(1741), .uint(0x1741), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
            b.exit(c, 0)
            b.join(root, c, .exited(0))
            b.exit(root, 0)
            return b.trace
        }(), ["start-before-fork"]))

        // main's clock runs 10 s ahead of the child's: the child's start reads earlier than the
        // fork that created it, and that is no violation (clocks are compared only within a process).
        out.append(("start-clock-behind-fork", true, MessageScenes.shifted(scene(1750, child: { b, c in
            b.start(c, parent: 0, forkSeq: 1, method: .fork, name: "Process-1")
            b.exit(c, 0)
        }, parent: { b, r, c in
            b.join(r, c, .exited(0)); b.exit(r, 0)
        }), puid: 0x1750, by: MessageScenes.tenSeconds), []))

        // main waits on event 0xE1 and then sets 0xE2; the child waits on 0xE2 and then sets
        // 0xE1: each wait returned before the set that woke it (no rule of its own: causal-cycle).
        out.append(("causal-cycle", false, scene(1760, child: { b, c in
            b.start(c, parent: 0, forkSeq: 1, method: .fork, name: "Process-1")
        }, parent: { b, r, c in
            b.event(r, .eventWait, [.uint(0xE1), .uint(1), .uint(1)])
            b.event(r, .eventSet, [.uint(0xE2), .uint(1)])
            b.event(c, .eventWait, [.uint(0xE2), .uint(1), .uint(1)])
            b.event(c, .eventSet, [.uint(0xE1), .uint(1)])
            b.exit(c, 0)
            b.join(r, c, .exited(0)); b.exit(r, 0)
        }), ["causal-cycle"]))

        return out
    }
}
