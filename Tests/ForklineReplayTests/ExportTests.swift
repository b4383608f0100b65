import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Chrome Trace Event and ShiViz exports")
struct ExportTests {
    static func load(_ file: String) throws -> Trace { try Trace.load(path: GoldenFixtureTests.root.path + "/" + file) }

    static func chromeEvents(_ text: String) throws -> [[String: Any]] {
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(obj["displayTimeUnit"] as? String == "ns")
        return try #require(obj["traceEvents"] as? [[String: Any]])
    }

    @Test("chrome: every event has the fields Perfetto needs and every flow pairs up", arguments: GoldenFixtureTests.fixtureFiles)
    func chromeStructure(file: String) throws {
        let trace = try Self.load(file)
        let events = try Self.chromeEvents(ChromeTrace.export(trace))
        var starts: [Int: [String: Any]] = [:], finishes: [Int: [String: Any]] = [:]
        for e in events {
            let ph = try #require(e["ph"] as? String)
            #expect(e["name"] is String && e["pid"] is Int && e["tid"] is Int, "\(e)")
            #expect(["M", "X", "s", "f", "C"].contains(ph), "\(e)")
            if ph != "M" { #expect(e["ts"] is Double || e["ts"] is Int, "\(e)") }
            if ph == "X" { #expect((e["dur"] as? Double ?? -1) >= 0, "\(e)") }
            if ph == "s" { #expect(starts.updateValue(e, forKey: try #require(e["id"] as? Int)) == nil, "one s per id") }
            if ph == "f" {
                #expect(e["bp"] as? String == "e")
                #expect(finishes.updateValue(e, forKey: try #require(e["id"] as? Int)) == nil, "one f per id")
            }
        }
        #expect(Set(starts.keys) == Set(finishes.keys), "every flow start has its finish")
        for (id, s) in starts { #expect(s["name"] as? String == finishes[id]?["name"] as? String) }
        #expect(starts.count == trace.flows.count)
        // A track per process, named with pid, name and role.
        let names = events.filter { $0["name"] as? String == "process_name" }
        #expect(names.count == trace.processes.count)
        for (n, p) in zip(names, trace.processes) {
            let args = try #require(n["args"] as? [String: Any])
            #expect(args["name"] as? String == "\(p.name) [\(trace.role(of: p))]", "no pid: Perfetto adds it")
            #expect(args["pid"] as? Int == Int(p.header.pid))
        }
        // A lifetime slice per process with events, and a slice per other event.
        let lifetimes = events.filter { $0["cat"] as? String == "process" }
        #expect(lifetimes.count == trace.processes.filter { !$0.events.isEmpty }.count)
        // Every event is drawn: as its own slice, or (a pool task's begin and end) as a task slice.
        // (an unfinished task, whose worker died in it, is one event drawn as a slice to the death).
        let tasks = events.filter { $0["cat"] as? String == "task" }
        let unfinished = tasks.filter { ($0["args"] as? [String: Any])?["unfinished"] != nil }.count
        let drawn = events.filter { $0["cat"] as? String == "event" }.count + 2 * (tasks.count - unfinished) + unfinished
        #expect(drawn == trace.processes.reduce(0) { $0 + $1.events.filter { $0.kind != .modules }.count })
    }

    @Test("chrome: the fixture's tracks, slices and flows (fork -> start, send -> recv, release -> acquire, end -> join)")
    func chromeFlows() throws {
        let events = try Self.chromeEvents(ChromeTrace.export(try Self.load("valid/messages-in-order.jsonl")))
        let flows = events.filter { $0["ph"] as? String == "s" }.map { ($0["name"] as? String ?? "", $0["pid"] as? Int ?? 0) }
        #expect(flows.map(\.0) == ["fork", "message", "message", "join"])
        #expect(flows.map(\.1) == [400, 400, 400, 401])
        let ends = events.filter { $0["ph"] as? String == "f" }.map { $0["pid"] as? Int ?? 0 }
        #expect(ends == [401, 401, 401, 400])
        // The send's flow starts at the send's time (us from the first event) and ends at the recv's.
        let sendTimes = events.filter { $0["name"] as? String == "send" }.map { $0["ts"] as? Double ?? -1 }
        let msg = events.filter { $0["name"] as? String == "message" && $0["ph"] as? String == "s" }.map { $0["ts"] as? Double ?? -2 }
        #expect(msg == sendTimes)
        let locks = try Self.chromeEvents(ChromeTrace.export(try Self.load("valid/lock-handoffs.jsonl")))
        #expect(locks.filter { $0["ph"] as? String == "s" }.map { $0["name"] as? String } == ["fork", "lock", "join"])
        // A lock taken again by the process that released it is program order: no arrow.
        var b = FixtureBuilder()
        let root = b.process(pid: 1, puid: 1)
        b.start(root, parent: nil, method: .root, name: "main")
        b.event(root, .lockAcquire, [.uint(7), .uint(1), .uint(0)])
        b.event(root, .lockRelease, [.uint(7), .uint(1)])
        b.event(root, .lockAcquire, [.uint(7), .uint(2), .uint(0)])
        b.event(root, .lockRelease, [.uint(7), .uint(2)])
        b.exit(root, 0)
        #expect(b.trace.flows.isEmpty)
        #expect(try Self.chromeEvents(ChromeTrace.export(b.trace)).filter { $0["ph"] as? String == "s" }.isEmpty)
        let lifetime = try #require(events.first { $0["cat"] as? String == "process" && $0["pid"] as? Int == 401 })
        #expect(lifetime["name"] as? String == "Process-1" && lifetime["ts"] as? Double == 2.0)
    }

    @Test("edges and events of kinds the renderers do not name render generically: kind names and arguments")
    func generic() {
        func e(_ k: EventKind, _ args: [TraceValue]) -> TraceEvent { TraceEvent(kind: k, pid: 1, puid: 1, seq: 0, time: 0, args: args) }
        #expect(Flow(from: e(.mark, [.string("a")]), to: e(.exit, [.int(0)])).label == "mark->exit")
        #expect(Flow(from: e(.lockRelease, []), to: e(.lockAcquire, [])).label == "lock")
        #expect(EventText.describe(e(.mark, [.string("hello")])) == "mark(label=hello)")
        #expect(EventText.describe(e(.send, [.uint(0xC4), .uint(8)])) == "send(channel=0xc4, size=8)")
        #expect(EventText.describe(e(.crash, [.int(11), .int(1), .uint(16), .uint(0x1234), .backtrace(Backtrace(frames: [1, 2]))]))
                == "crash(signal=11, code=1, address=0x10, pc=0x1234, backtrace=2 frames)")
    }

    @Test("replay export --format chrome -o writes the JSON; shiviz to standard output")
    func command() throws {
        let dir = Scratch.directory()
        let f = GoldenFixtureTests.root.path + "/valid/forkserver-chain.jsonl"
        let out = try TestSupport.run(Executables.replay, ["export", "--format", "chrome", f, "-o", dir + "/trace.json"])
        #expect(out.status == 0 && out.stdout.isEmpty)
        let events = try Self.chromeEvents(try String(contentsOfFile: dir + "/trace.json", encoding: .utf8))
        #expect(events.filter { $0["ph"] as? String == "s" }.map { $0["name"] as? String } == ["fork", "request", "fork", "join", "join"])
        let shiviz = try TestSupport.run(Executables.replay, ["export", "--format", "shiviz", f])
        #expect(shiviz.status == 0 && shiviz.lines.first == ShiVizLog.regex)
    }

    @Test("shiviz: vector clocks order two events exactly when happensBefore does", arguments: GoldenFixtureTests.fixtureFiles)
    func vectorClocks(file: String) throws {
        let trace = try Self.load(file)
        // Vector clocks order an acyclic graph: a fixture whose causal references form a cycle
        // (recv-caused-by-itself, join-before-exit, barrier-early-release) has no consistent
        // clocks to compare. Every rule a cycle is reported under says so in its message.
        if trace.check().violations.contains(where: { $0.message.contains("a causal cycle through") }) { return }
        let clocks = trace.vectorClocks()
        let events = trace.allEvents.filter { $0.kind != .modules }
        func less(_ a: [UInt64: UInt64], _ b: [UInt64: UInt64]) -> Bool {
            a != b && a.allSatisfy { $0.value <= b[$0.key, default: 0] }
        }
        for a in events {
            for b in events where a.id != b.id {
                let ca = try #require(clocks[a.id]), cb = try #require(clocks[b.id])
                #expect(less(ca, cb) == trace.happensBefore(a.id, b.id), "\(file): \(a.kind.name)#\(a.seq)@\(a.pid) vs \(b.kind.name)#\(b.seq)@\(b.pid): \(ca) \(cb)")
            }
        }
        // Each process's own component counts its events from 1.
        for p in trace.processes where trace.process(p.header.puid) == p {
            #expect(p.events.compactMap { clocks[$0.id]?[p.header.puid] } == Array(1...UInt64(max(1, p.events.count))).prefix(p.events.count).map { $0 })
        }
    }

    @Test("shiviz: the header regex parses every line into host, clock and event, in happens-before order")
    func shivizLines() throws {
        let trace = try Self.load("valid/messages-in-order.jsonl")
        let log = ShiVizLog.export(trace).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(log[0] == ShiVizLog.regex && log[1].isEmpty)
        let re = try NSRegularExpression(pattern: "^" + log[0] + "$")
        let body = log.dropFirst(2).filter { !$0.isEmpty }
        #expect(body.count == trace.eventCount)
        var seen: [String: Int] = [:]
        for line in body {
            let m = try #require(re.firstMatch(in: line, range: NSRange(line.startIndex..., in: line)), "\(line)")
            let host = String(line[Range(m.range(withName: "host"), in: line)!])
            let clock = try #require(try JSONSerialization.jsonObject(with: Data(line[Range(m.range(withName: "clock"), in: line)!].utf8)) as? [String: Int])
            #expect(["main/400", "Process-1/401"].contains(host))
            // Lines come in an order consistent with the clocks: a host's counter rises by one.
            #expect(clock[host] == seen[host, default: 0] + 1, "\(line)")
            seen[host] = clock[host]
            for (h, v) in clock where h != host { #expect(v <= seen[h, default: 0], "a clock names only events already logged: \(line)") }
        }
        #expect(body.contains { $0.hasPrefix("Process-1/401 {\"main/400\":3, \"Process-1/401\":2} recv(") })
    }
}
