import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Issue 16 item 2: what Perfetto shows of the Chrome export.
@Suite("Chrome export details")
struct ChromeDetailTests {
    static func events(_ trace: Trace) throws -> [[String: Any]] { try ExportTests.chromeEvents(ChromeTrace.export(trace)) }
    static func args(_ e: [String: Any]) -> [String: Any] { e["args"] as? [String: Any] ?? [:] }

    @Test("tracks come in load order (process_sort_index); labels do not repeat the pid")
    func order() throws {
        let trace = try ExportTests.load("valid/forkserver-chain.jsonl")
        let ev = try Self.events(trace)
        let sort = ev.filter { $0["name"] as? String == "process_sort_index" }.map { (Self.args($0)["sort_index"] as? Int ?? -1, $0["pid"] as? Int ?? 0) }
        #expect(sort.sorted { $0.0 < $1.0 }.map(\.1) == trace.processes.map { Int($0.header.pid) })
        for n in ev where n["name"] as? String == "process_name" || n["name"] as? String == "thread_name" {
            #expect(!(Self.args(n)["name"] as? String ?? "").contains("pid"), "\(n)")
        }
    }

    @Test("arguments are typed: numbers, enum names, every id in hex, symbolised frames")
    func typedArgs() throws {
        let trace = try ExportTests.load("valid/pool-map-crash-retry.jsonl")
        let ev = try Self.events(trace)
        let start = try #require(ev.first { $0["name"] as? String == "start" })
        #expect(Self.args(start)["method"] as? String == "root" && Self.args(start)["parentPid"] is Int)
        let replaced = try #require(ev.first { $0["name"] as? String == "workerReplaced" })
        #expect((Self.args(replaced)["old"] as? String)?.hasPrefix("0x") == true && (Self.args(replaced)["new"] as? String)?.hasPrefix("0x") == true)
        #expect(Self.args(replaced)["reason"] as? String == "died")
        let results = ev.filter { $0["name"] as? String == "poolResult" }.map { Self.args($0)["outcome"] as? String ?? "?" }
        #expect(results.contains("value") && results.contains("worker died"), "\(results)")
        let join = try #require(ev.first { $0["name"] as? String == "join" })
        #expect((Self.args(join)["childPuid"] as? String)?.hasPrefix("0x") == true && Self.args(join)["childPid"] is Int)
        for e in ev where e["cat"] as? String == "event" {
            for (k, v) in Self.args(e) where k.hasSuffix("Puid") || k == "pool" || k == "worker" { #expect((v as? String)?.hasPrefix("0x") == true, "\(k) in \(e)") }
        }
        // A backtrace is a list of frames, symbolised from the process's own modules.
        let frames = TimelineTests.captureHere()
        var b = FixtureBuilder()
        let root = b.process(pid: 10, puid: 0x10)
        b.start(root, parent: nil, method: .root, name: "main")
        b.event(root, .modules, [.modules(Module.current())])
        let c = b.fork(root, pid: 11, puid: 0x11, name: "crasher")
        b.event(c, .crash, [.int(11), .int(1), .uint(0), .uint(frames.frames?.first ?? 0), .backtrace(frames)])
        b.join(root, c, .signaled(11))
        b.exit(root, 0)
        let crash = try #require(try Self.events(b.trace).first { $0["name"] as? String == "crash" })
        let list = try #require(Self.args(crash)["backtrace"] as? [String])
        #expect(list.contains { $0.contains("TimelineTests.captureHere") }, "\(list)")
    }

    @Test("lock holds are slices from acquire to release, on a holds thread")
    func holds() throws {
        let trace = try ExportTests.load("valid/lock-handoffs.jsonl")
        let ev = try Self.events(trace)
        let acquires = trace.events(.lockAcquire).count
        let holds = ev.filter { $0["cat"] as? String == "hold" }
        #expect(holds.count == acquires && acquires > 0)
        for h in holds { #expect((h["dur"] as? Double ?? -1) > 0 && (h["name"] as? String)?.hasPrefix("lock 0x") == true && (h["tid"] as? Int ?? 0) != (h["pid"] as? Int ?? 0)) }
    }

    @Test("counter tracks: pending tasks and busy workers per pool, queue depth per queue")
    func counters() throws {
        let ev = try Self.events(try ExportTests.load("valid/pool-map-crash-retry.jsonl"))
        let c = ev.filter { $0["ph"] as? String == "C" }
        let pending = c.filter { ($0["name"] as? String)?.hasSuffix("pending tasks") == true }.map { Self.args($0)["pending"] as? Int ?? -1 }
        #expect(pending.max() ?? 0 > 0 && pending.last == 0, "\(pending)")
        let busy = c.filter { ($0["name"] as? String)?.hasSuffix("busy workers") == true }.map { Self.args($0)["busy"] as? Int ?? -1 }
        #expect(busy.max() ?? 0 > 0 && busy.last == 0, "\(busy)")
        let queue = try ExportTests.load("valid/queue-two-producers-two-consumers.jsonl")
        let q = try Self.events(queue).filter { $0["ph"] as? String == "C" }
        let depth = q.filter { ($0["name"] as? String)?.hasSuffix("depth") == true }.map { Self.args($0)["depth"] as? Int ?? -1 }
        // 4 sends, 3 receives: one item is still in the queue at the end.
        #expect(depth.count == 7 && depth.max() == 4 && depth.last == queue.events(.send).count - queue.events(.recv).count, "\(depth)")
    }
}

/// Issue 16 item 4: ShiViz hosts and event text people can tell apart.
@Suite("ShiViz labels")
struct ShiVizLabelTests {
    @Test("hosts start with the name and stay short; event text names processes, not puids")
    func labels() throws {
        let trace = try EndingViewTests.poolCrash()
        let log = ShiVizLog.export(trace).split(separator: "\n").dropFirst().map(String.init)
        let hosts = Set(log.map { String($0.prefix { $0 != " " }) })
        #expect(hosts.count == trace.processes.count)
        for p in trace.processes {
            let h = try #require(hosts.first { $0.hasPrefix(p.name) }, "no host starts with \(p.name): \(hosts)")
            #expect(h.count <= 20 && h.contains("\(p.header.pid)"), "\(h)")
        }
        for line in log {
            // The event text (after the vector clock, which grows with the number of processes)
            // stays short.
            let text = line.range(of: "} ").map { String(line[$0.upperBound...]) } ?? line
            #expect(!line.contains(where: { $0 == "\n" }) && text.count < 160, "\(line)")
            // No 16-digit puid in the event text: processes are named by their host label.
            #expect(line.range(of: "0x[0-9a-f]{12,}", options: .regularExpression) == nil, "\(line)")
        }
        let join = try #require(log.first { $0.contains(" join(") })
        #expect(join.contains("child=PoolWorker-"), "\(join)")
    }
}

/// Symbols from a binary rebuilt after the run would be wrong names: they are not given.
@Suite("Symbolising a rebuilt binary")
struct StaleSymbolTests {
    @Test("frames of a process that started before its binary changed are not symbolised, and say why")
    func changedBinary() throws {
        let frames = TimelineTests.captureHere()
        for (realtime, symbolised) in [(UInt64(1), false), (UInt64(0), true), (UInt64.max / 2, true)] {
            let h = ProcessHeader(pid: 10, ppid: 1, puid: 0x10, startTime: 0, realtime: realtime)
            let start = TraceEvent(kind: .start, pid: 10, puid: 0x10, seq: 0, time: 1,
                                   args: [.uint(0), .int(1), .uint(0), .uint(0), .uint(255), .string("main"), .string("")])
            let mods = TraceEvent(kind: .modules, pid: 10, puid: 0x10, seq: 1, time: 2, args: [.modules(Module.current())])
            let trace = Trace(processes: [ProcessTrace(header: h, events: [start, mods])])
            let out = try #require(Symbolizer().symbolicate(frames, in: trace.modules(for: trace.processes[0])))
            #expect(out.contains { $0.description.contains("TimelineTests.captureHere") } == symbolised, "realtime \(realtime): \(out.prefix(3))")
            if !symbolised { #expect(out.first?.description.contains("file changed since the run") == true, "\(out.prefix(2))") }
        }
    }
}
