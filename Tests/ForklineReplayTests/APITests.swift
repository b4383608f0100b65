import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("The Swift API for tests")
struct APITests {
    static func fixture(_ name: String) throws -> Trace {
        try Trace.load(path: GoldenFixtureTests.root.path + "/" + name)
    }

    @Test("processes, children, names, events by kind")
    func queries() throws {
        let trace = try Self.fixture("valid/four-fork-children.jsonl")
        let main = try #require(trace.process(named: "main"))
        #expect(trace.children(of: main).map(\.name) == ["Process-1", "Process-2", "Process-3", "Process-4"])
        #expect(trace.events(kind: .fork).count == 4)
        #expect(trace.events(kind: .join).allSatisfy { $0.puid == main.header.puid })
        #expect(trace.parent(of: try #require(trace.process(named: "Process-3")))?.header.puid == main.header.puid)
        #expect(trace.process(pid: 102)?.name == "Process-2")
        #expect(main.method == .root && main.end?.kind == .exit)
        let fork = trace.events(kind: .fork)[1]
        #expect(trace.event(fork.id) == fork)
        #expect(check(trace).ok)
    }

    @Test("forkserver: the requester is the logical parent and the causal chain runs request -> fork -> start -> join")
    func forkserverChain() throws {
        let trace = try Self.fixture("valid/forkserver-chain.jsonl")
        let main = try #require(trace.process(named: "main"))
        let server = try #require(trace.process(named: "forkserver"))
        let child = try #require(trace.process(named: "Process-1"))
        #expect(Set(trace.children(of: main).map(\.name)) == ["forkserver", "Process-1"])
        #expect(trace.children(of: server).isEmpty)
        let request = try #require(trace.events(kind: .request).first)
        let serverFork = try #require(server.events.first { $0.kind == .fork })
        let join = try #require(main.events.first { $0.kind == .join && $0["childPuid"]?.uint == child.header.puid })
        #expect(trace.happensBefore(request.id, serverFork.id))
        #expect(trace.happensBefore(request.id, try #require(child.start).id))
        #expect(trace.happensBefore(try #require(child.end).id, join.id))
        #expect(trace.happensBefore(request.id, join.id))
        #expect(!trace.happensBefore(join.id, request.id))
        // The server's exit and the child's exit are not ordered by any reference.
        #expect(trace.areConcurrent(try #require(server.end).id, try #require(child.end).id))
    }

    @Test("violations name their rule, pids and event ids")
    func violationShape() throws {
        let report = check(try Self.fixture("invalid/double-join.jsonl"))
        let v = try #require(report.violations.first)
        #expect(report.rules == ["double-join"])
        #expect(v.rule == .doubleJoin && v.ruleID == "double-join")
        #expect(v.pids == [400])
        #expect(v.eventIDs.map(\.seq) == [2, 3])
        #expect(report.violations(.doubleJoin).count == 1)
        let missing = check(try Self.fixture("invalid/missing-join.jsonl")).violations[0]
        #expect(missing.pids == [401, 400])
        #expect(missing.message.contains("exited without joining"))
    }

    @Test("a child killed while its parent was still running is reported as missing-join, noting the parent")
    func unfinishedParent() throws {
        var b = FixtureBuilder()
        let root = b.process(pid: 10, puid: 0x10)
        b.start(root, parent: nil, method: .root, name: "main")
        let c = b.fork(root, pid: 11, puid: 0x11, name: "Process-1")
        b.exit(c, 0)
        let report = check(b.trace)
        #expect(report.rules == ["missing-join"])
        #expect(report.violations[0].message.contains("recorded no exit"))
    }

    @Test("a forkserver child whose start names the server as its parent is a wrong-parent")
    func wrongParent() throws {
        var trace = try Self.fixture("valid/forkserver-chain.jsonl").processes
        let i = try #require(trace.firstIndex { $0.name == "Process-1" })
        trace[i].events[0].args[0] = .uint(0x301)  // parentPuid: the server instead of main
        let report = check(Trace(processes: trace))
        #expect(report.violations.contains { $0.rule == .wrongParent })
    }

    @Test("a million-event trace checks clean, and happensBefore crosses its 200 children")
    func bigTrace() throws {
        // Its speed is a benchmark (`forkline-bench`: replay check, events/s), not a test.
        let trace = SyntheticTrace.make(children: 200, marks: 5_000)
        // FORKLINE_WRITE_BIG_TRACE=DIR keeps the trace as binary files, to time `replay check` on it.
        if let dir = ProcessInfo.processInfo.environment["FORKLINE_WRITE_BIG_TRACE"] {
            for p in trace.processes { try Scratch.write(p.binaryBytes(), "\(dir)/\(p.header.pid).\(hex16(p.header.puid)).flt") }
        }
        #expect(trace.eventCount > 1_000_000)
        let report = check(trace)
        #expect(report.ok, "\(report.violations.prefix(3))")
        let root = try #require(trace.process(named: "main"))
        let firstFork = try #require(root.events.first { $0.kind == .fork })
        #expect(trace.happensBefore(firstFork.id, try #require(root.events.last).id))
        let first = try #require(trace.process(named: "w0")), last = try #require(trace.process(named: "w199"))
        let a = try #require(first.events.last).id, b = try #require(last.events.first).id
        #expect(trace.happensBefore(firstFork.id, b), "the first fork precedes every later fork's child")
        #expect(!trace.happensBefore(a, b) && !trace.happensBefore(b, a), "siblings are unordered")
    }
}
