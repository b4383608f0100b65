import Foundation
import ForklineReplay
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
        #expect(report.violations[0].message.contains("did not finish"))
    }

    @Test("a forkserver child whose start names the server as its parent is a wrong-parent")
    func wrongParent() throws {
        var trace = try Self.fixture("valid/forkserver-chain.jsonl").processes
        let i = try #require(trace.firstIndex { $0.name == "Process-1" })
        trace[i].events[0].args[0] = .uint(0x301)  // parentPuid: the server instead of main
        let report = check(Trace(processes: trace))
        #expect(report.violations.contains { $0.rule == .wrongParent })
    }

    @Test("checking is linear: a million events well within the time budget")
    func throughput() throws {
        var processes: [ProcessTrace] = []
        let children = 200, marks = 5_000
        var rootEvents: [TraceEvent] = []
        var t: UInt64 = 1
        func ev(_ kind: EventKind, _ puid: UInt64, _ seq: Int, _ args: [TraceValue]) -> TraceEvent {
            t += 1
            return TraceEvent(kind: kind, pid: Int32(puid), puid: puid, seq: UInt64(seq), time: t, args: args)
        }
        rootEvents.append(ev(.start, 1, 0, [.uint(0), .int(0), .uint(0), .uint(0), .uint(255), .string("main"), .string("")]))
        for c in 0..<children {
            let puid = UInt64(1000 + c)
            let fork = ev(.fork, 1, rootEvents.count, [.int(Int64(puid)), .uint(puid), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
            rootEvents.append(fork)
            var evs = [ev(.start, puid, 0, [.uint(1), .int(1), .uint(1), .uint(fork.seq), .uint(0), .string("w\(c)"), .string("")])]
            for m in 1...marks { evs.append(ev(.mark, puid, m, [.string("m")])) }
            evs.append(ev(.exit, puid, marks + 1, [.int(0)]))
            processes.append(ProcessTrace(header: ProcessHeader(pid: Int32(puid), ppid: 1, puid: puid, startTime: 0, realtime: 0), events: evs))
        }
        for c in 0..<children {
            let puid = UInt64(1000 + c)
            rootEvents.append(ev(.join, 1, rootEvents.count, [.int(Int64(puid)), .uint(puid), .status(.exited(0))]))
        }
        rootEvents.append(ev(.exit, 1, rootEvents.count, [.int(0)]))
        processes.insert(ProcessTrace(header: ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0), events: rootEvents), at: 0)
        let trace = Trace(processes: processes)
        // FORKLINE_WRITE_BIG_TRACE=DIR keeps the trace as binary files, to time `replay check` on it.
        if let dir = ProcessInfo.processInfo.environment["FORKLINE_WRITE_BIG_TRACE"] {
            for p in processes { try Scratch.write(p.binaryBytes(), "\(dir)/\(p.header.pid).\(hex16(p.header.puid)).flt") }
        }
        let clock = ContinuousClock()
        var report: CheckReport?
        let elapsed = clock.measure { report = check(trace) }
        #expect(report?.ok == true, "\(report?.violations.prefix(3) ?? [])")
        let seconds = Double(elapsed.components.attoseconds) / 1e18 + Double(elapsed.components.seconds)
        let rate = Double(trace.eventCount) / seconds
        print("check: \(trace.eventCount) events in \(seconds) s = \(Int(rate)) events/s")
        #if DEBUG
        #expect(rate > 100_000)
        #else
        #expect(rate > 1_000_000)
        #endif
        let hb = clock.measure {
            #expect(trace.happensBefore(rootEvents[1].id, rootEvents[rootEvents.count - 1].id))
        }
        print("happensBefore across \(children) children: \(hb)")
    }
}
