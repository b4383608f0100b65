import ForklineReplay
import ForklineTrace

/// Builds small traces by hand: the golden fixtures' generator.
struct FixtureBuilder {
    var processes: [ProcessTrace] = []
    var clock: UInt64 = 1_000_000

    /// Adds a process and returns its index.
    mutating func process(pid: Int32, puid: UInt64, ppid: Int32 = 1) -> Int {
        processes.append(ProcessTrace(header: ProcessHeader(pid: pid, ppid: ppid, puid: puid, startTime: clock, realtime: 0), events: []))
        return processes.count - 1
    }

    /// Appends an event to process `p`; returns its sequence number.
    @discardableResult
    mutating func event(_ p: Int, _ kind: EventKind, _ args: [TraceValue], at time: UInt64? = nil) -> UInt64 {
        clock += 1_000
        let h = processes[p].header
        let seq = UInt64(processes[p].events.count)
        processes[p].events.append(TraceEvent(kind: kind, pid: h.pid, puid: h.puid, seq: seq, time: time ?? clock, args: args))
        return seq
    }

    mutating func start(_ p: Int, parent: Int?, forker: Int? = nil, forkSeq: UInt64 = 0, method: StartMethod, name: String) {
        let par = parent.map { processes[$0].header }
        let fk = (forker ?? parent).map { processes[$0].header.puid } ?? 0
        event(p, .start, [.uint(par?.puid ?? 0), .int(Int64(par?.pid ?? 1)), .uint(fk), .uint(forkSeq),
                          .uint(UInt64(method.rawValue)), .string(name), .string("")])
    }

    /// Parent forks a new child process, which starts; returns the child's index.
    mutating func fork(_ parent: Int, pid: Int32, puid: UInt64, method: StartMethod = .fork, name: String) -> Int {
        let seq = event(parent, .fork, [.int(Int64(pid)), .uint(puid), .uint(UInt64(method.rawValue)), .string(""),
                                        .uint(0), .uint(0), .backtrace(Backtrace(frames: [0x1000]))])
        let c = process(pid: pid, puid: puid, ppid: processes[parent].header.pid)
        start(c, parent: parent, forkSeq: seq, method: method, name: name)
        return c
    }

    mutating func exit(_ p: Int, _ code: Int32) { event(p, .exit, [.int(Int64(code))]) }

    mutating func join(_ parent: Int, _ child: Int, _ status: ExitStatus, at time: UInt64? = nil) {
        let h = processes[child].header
        event(parent, .join, [.int(Int64(h.pid)), .uint(h.puid), .status(status)], at: time)
    }

    var trace: Trace { Trace(processes: processes) }
}

/// The golden fixtures: name, trace, and the rules `check` must report (empty: SUCCESS).
enum GoldenFixtures {
    static func all() -> [(name: String, valid: Bool, trace: Trace, rules: [String])] {
        var out: [(String, Bool, Trace, [String])] = []

        var b = FixtureBuilder()
        var root = b.process(pid: 100, puid: 0x100)
        b.start(root, parent: nil, method: .root, name: "main")
        let kids = (1...4).map { b.fork(root, pid: 100 + Int32($0), puid: 0x100 + UInt64($0), name: "Process-\($0)") }
        for k in kids { b.exit(k, 0) }
        for k in kids { b.join(root, k, .exited(0)) }
        b.exit(root, 0)
        out.append(("four-fork-children", true, b.trace, []))

        b = FixtureBuilder()
        root = b.process(pid: 200, puid: 0x200)
        b.start(root, parent: nil, method: .root, name: "main")
        var c = b.fork(root, pid: 201, puid: 0x201, name: "crasher")
        b.event(c, .crash, [.int(11), .int(1), .uint(16), .uint(0x1234), .backtrace(Backtrace(frames: [0x1234, 0x2000]))])
        b.join(root, c, .signaled(11))
        let k = b.fork(root, pid: 202, puid: 0x202, name: "killed")
        b.event(root, .kill, [.int(202), .uint(0x202), .int(9)])
        b.join(root, k, .signaled(9))
        b.exit(root, 0)
        out.append(("crash-and-kill-joined", true, b.trace, []))

        b = FixtureBuilder()
        root = b.process(pid: 300, puid: 0x300)
        b.start(root, parent: nil, method: .root, name: "main")
        let server = b.fork(root, pid: 301, puid: 0x301, method: .spawn, name: "forkserver")
        let req = b.event(root, .request, [.uint(0x302), .string("work"), .backtrace(.unavailable)])
        let fseq = b.event(server, .fork, [.int(302), .uint(0x302), .uint(2), .string("work"), .uint(0x300), .uint(req), .backtrace(Backtrace(frames: []))])
        c = b.process(pid: 302, puid: 0x302, ppid: 301)
        b.start(c, parent: root, forker: server, forkSeq: fseq, method: .forkserver, name: "Process-1")
        b.exit(c, 3)
        b.join(root, c, .exited(3))
        b.exit(server, 0)
        b.join(root, server, .exited(0))
        b.exit(root, 0)
        out.append(("forkserver-chain", true, b.trace, []))

        b = FixtureBuilder()
        root = b.process(pid: 600, puid: 0x600)
        b.start(root, parent: nil, method: .root, name: "main")
        b.event(root, .fork, [.int(601), .uint(0x601), .uint(1), .string("sleeper"), .uint(0), .uint(0), .backtrace(.unavailable)])
        b.event(root, .terminate, [.int(601), .uint(0x601), .int(15)])
        b.event(root, .join, [.int(601), .uint(0x601), .status(.signaled(15))])
        b.exit(root, 0)
        out.append(("killed-before-start", true, b.trace, []))

        b = FixtureBuilder()
        root = b.process(pid: 700, puid: 0x700)
        b.start(root, parent: nil, method: .root, name: "main")
        c = b.fork(root, pid: 701, puid: 0x701, method: .spawn, name: "Process-1")
        b.event(c, .mark, [.string("working")])
        b.exit(c, 0)
        b.join(root, c, .exited(0))
        b.exit(root, 0)
        out.append(("spawn-child", true, b.trace, []))

        // Violations.
        func simple(_ build: (inout FixtureBuilder, Int, Int) -> Void) -> Trace {
            var b = FixtureBuilder()
            let root = b.process(pid: 400, puid: 0x400)
            b.start(root, parent: nil, method: .root, name: "main")
            let c = b.fork(root, pid: 401, puid: 0x401, name: "Process-1")
            build(&b, root, c)
            return b.trace
        }
        out.append(("missing-join", false, simple { b, r, c in b.exit(c, 0); b.exit(r, 0) }, ["missing-join"]))
        // The join happens before the child's exit by the causal references: main sends a
        // message after the join that the child receives before exiting.
        out.append(("join-before-exit", false, simple { b, r, c in
            b.join(r, c, .exited(0))
            let m = b.event(r, .send, [.uint(0xC4), .uint(8)])
            b.event(c, .recv, [.uint(0xC4), .uint(0x400), .uint(m), .uint(8)])
            b.exit(c, 0)
            b.exit(r, 0)
        }, ["join-before-end"]))
        out.append(("double-join", false, simple { b, r, c in
            b.exit(c, 0); b.join(r, c, .exited(0)); b.join(r, c, .exited(0)); b.exit(r, 0)
        }, ["double-join"]))
        out.append(("status-mismatch", false, simple { b, r, c in
            b.exit(c, 0); b.join(r, c, .exited(1)); b.exit(r, 0)
        }, ["status-mismatch"]))
        out.append(("start-without-fork", false, {
            var b = FixtureBuilder()
            let root = b.process(pid: 500, puid: 0x500)
            b.start(root, parent: nil, method: .root, name: "main")
            let c = b.process(pid: 501, puid: 0x501)
            b.start(c, parent: root, forkSeq: 99, method: .fork, name: "orphan-start")
            b.exit(c, 0)
            b.join(root, c, .exited(0))
            b.exit(root, 0)
            return b.trace
        }(), ["start-without-fork"]))
        out.append(("event-after-exit", false, simple { b, r, c in
            b.exit(c, 0); b.event(c, .mark, [.string("too late")]); b.join(r, c, .exited(0)); b.exit(r, 0)
        }, ["after-end"]))
        out.append(("fork-without-start", false, {
            var b = FixtureBuilder()
            let root = b.process(pid: 800, puid: 0x800)
            b.start(root, parent: nil, method: .root, name: "main")
            b.event(root, .fork, [.int(801), .uint(0x801), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
            b.exit(root, 0)
            return b.trace
        }(), ["fork-without-start"]))
        out.append(("time-goes-backwards", false, simple { b, r, c in
            b.event(c, .mark, [.string("late clock")], at: 1_000_100)
            b.exit(c, 0); b.join(r, c, .exited(0)); b.exit(r, 0)
        }, ["order"]))
        out.append(("join-unknown-child", false, simple { b, r, c in
            b.exit(c, 0); b.join(r, c, .exited(0))
            b.event(r, .join, [.int(999), .uint(0x999), .status(.exited(0))])
            b.exit(r, 0)
        }, ["join-unknown-child"]))
        out.append(("terminated-wrong-signal", false, simple { b, r, c in
            b.event(r, .terminate, [.int(401), .uint(0x401), .int(15)])
            b.join(r, c, .signaled(2)); b.exit(r, 0)
        }, ["status-mismatch"]))
        out.append(("crash-joined-as-exit", false, simple { b, r, c in
            b.event(c, .crash, [.int(11), .int(1), .uint(0), .uint(0x1234), .backtrace(.unavailable)])
            b.join(r, c, .exited(0)); b.exit(r, 0)
        }, ["status-mismatch"]))
        out.append(("parent-crashed-unjoined", false, simple { b, r, c in
            b.exit(c, 0)
            b.event(r, .crash, [.int(6), .int(0), .uint(0), .uint(0x4000), .backtrace(.unavailable)])
        }, ["missing-join"]))
        out.append(("fork-without-request", false, {
            var b = FixtureBuilder()
            let root = b.process(pid: 900, puid: 0x900)
            b.start(root, parent: nil, method: .root, name: "main")
            let server = b.fork(root, pid: 901, puid: 0x901, method: .spawn, name: "forkserver")
            // The server's fork names request #7 of main, which main never recorded.
            let fseq = b.event(server, .fork, [.int(902), .uint(0x902), .uint(2), .string("work"), .uint(0x900), .uint(7), .backtrace(.unavailable)])
            let c = b.process(pid: 902, puid: 0x902, ppid: 901)
            b.start(c, parent: root, forker: server, forkSeq: fseq, method: .forkserver, name: "Process-1")
            b.exit(c, 0)
            b.join(root, c, .exited(0))
            b.exit(server, 0)
            b.join(root, server, .exited(0))
            b.exit(root, 0)
            return b.trace
        }(), ["fork-without-request"]))
        out.append(("damaged-line", false, simple { b, r, c in
            b.exit(c, 0); b.join(r, c, .exited(0)); b.exit(r, 0)
        }, ["damaged"]))

        // Messages (invariant 4): the parent sends on channel 0xC4, the child receives.
        func messages(_ build: (inout FixtureBuilder, Int, Int) -> Void) -> Trace {
            simple { b, r, c in
                build(&b, r, c)
                b.exit(c, 0); b.join(r, c, .exited(0)); b.exit(r, 0)
            }
        }
        func send(_ b: inout FixtureBuilder, _ p: Int) -> UInt64 { b.event(p, .send, [.uint(0xC4), .uint(8)]) }
        func recv(_ b: inout FixtureBuilder, _ p: Int, from s: Int, _ seq: UInt64, channel: UInt64 = 0xC4) {
            b.event(p, .recv, [.uint(channel), .uint(b.processes[s].header.puid), .uint(seq), .uint(8)])
        }
        out.append(("messages-in-order", true, messages { b, r, c in
            let s1 = send(&b, r), s2 = send(&b, r)
            recv(&b, c, from: r, s1); recv(&b, c, from: r, s2)
        }, []))
        out.append(("recv-without-send", false, messages { b, r, c in
            _ = send(&b, r)
            recv(&b, c, from: r, 77)
        }, ["recv-without-send"]))
        out.append(("duplicate-recv", false, messages { b, r, c in
            let s1 = send(&b, r)
            recv(&b, c, from: r, s1); recv(&b, c, from: r, s1)
        }, ["duplicate-recv"]))
        // Locks (invariant 5): generations count hand-offs.
        func acquire(_ b: inout FixtureBuilder, _ p: Int, _ g: UInt64) { b.event(p, .lockAcquire, [.uint(0x10C), .uint(g), .uint(0)]) }
        func release(_ b: inout FixtureBuilder, _ p: Int, _ g: UInt64) { b.event(p, .lockRelease, [.uint(0x10C), .uint(g)]) }
        out.append(("lock-handoffs", true, messages { b, r, c in
            acquire(&b, r, 1); release(&b, r, 1); acquire(&b, c, 2); release(&b, c, 2)
        }, []))
        out.append(("overlapping-holds", false, messages { b, r, c in
            acquire(&b, r, 1); acquire(&b, c, 1); release(&b, c, 1); release(&b, r, 1)
        }, ["overlapping-holds"]))
        out.append(("out-of-order-recv", false, messages { b, r, c in
            let s1 = send(&b, r), s2 = send(&b, r)
            recv(&b, c, from: r, s2); recv(&b, c, from: r, s1)
        }, ["out-of-order-recv"]))
        out += syncFixtures()
        out += waitFixtures()
        out += processFixtures()
        out += queueFixtures()
        out += messageFixtures()
        out += poolFixtures().map { ($0.name, $0.valid, $0.trace, $0.rules) }
        return out
    }

    /// The fixture's JSON Lines text: the export, except that `damaged-line` gets a line of
    /// garbage after its third line (damage the loader reports while reading the rest).
    static func text(_ name: String, _ trace: Trace) -> String {
        let text = JSONLines.export(trace)
        guard name == "damaged-line" else { return text }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.insert("{\"pid\":400,\"seq\": this line was cut", at: 3)
        return lines.joined(separator: "\n")
    }
}
