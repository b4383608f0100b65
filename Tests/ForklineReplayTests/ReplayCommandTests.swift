import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("The replay command")
struct ReplayCommandTests {
    static let replay = Executables.replay
    static let fixtures = GoldenFixtureTests.root.path

    @Test("check exits 0 on a sound trace and 1 with every violation on a broken one")
    func checkExitCodes() throws {
        let ok = try TestSupport.run(Self.replay, ["check", Self.fixtures + "/valid/forkserver-chain.jsonl"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("OK:"))
        let bad = try TestSupport.run(Self.replay, ["check", Self.fixtures + "/invalid/double-join.jsonl"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("[double-join]"))
        #expect(bad.stdout.contains("pid 400"))
    }

    @Test("check --json and stats --json print the documented shapes")
    func jsonShapes() throws {
        let out = try TestSupport.run(Self.replay, ["check", "--json", Self.fixtures + "/invalid/status-mismatch.jsonl"])
        #expect(out.status == 1)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(obj["ok"] as? Bool == false)
        let violations = try #require(obj["violations"] as? [[String: Any]])
        #expect(violations.first?["rule"] as? String == "status-mismatch")
        #expect(violations.first?["message"] is String)
        #expect(violations.first?["pids"] as? [Int] == [400, 401])
        let events = try #require(violations.first?["events"] as? [[String: Any]])
        #expect(events.map { $0["kind"] as? String } == ["join", "exit"])
        #expect(events.allSatisfy { $0["seq"] is Int && $0["time_ns"] is Int && $0["puid"] is String && $0["pid"] is Int })
        let ok = try TestSupport.run(Self.replay, ["check", "--json", Self.fixtures + "/valid/spawn-child.jsonl"])
        #expect(ok.status == 0)
        let okObj = try #require(try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any])
        #expect(okObj["ok"] as? Bool == true)
        #expect((okObj["violations"] as? [Any])?.isEmpty == true)
        let stats = try TestSupport.run(Self.replay, ["stats", "--json", Self.fixtures + "/valid/four-fork-children.jsonl"])
        let s = try #require(try JSONSerialization.jsonObject(with: Data(stats.stdout.utf8)) as? [String: Any])
        #expect(s["processes"] as? Int == 5)
        #expect((s["events"] as? [String: Int])?["fork"] == 4)
        #expect((s["pools"] as? [Any])?.isEmpty == true)
    }

    @Test("stats --json and the text report include each pool's task figures")
    func poolStats() throws {
        let path = Self.fixtures + "/valid/pool-map-crash-retry.jsonl"
        let json = try TestSupport.run(Self.replay, ["stats", "--json", path])
        #expect(json.status == 0, "\(json.stderr)")
        let s = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let pools = try #require(s["pools"] as? [[String: Any]])
        #expect(pools.count == 1)
        #expect(pools.first?["submitted"] as? Int == 3 && pools.first?["delivered"] as? Int == 3)
        #expect((pools.first?["workers"] as? [Any])?.count == 3)
        let text = try TestSupport.run(Self.replay, ["stats", path])
        #expect(text.stdout.contains("3 tasks submitted, 3 delivered"), "\(text.stdout)")
    }

    @Test("unreadable input exits 2 with a clear message", arguments: ["missing", "empty-dir", "garbage", "newer-version"])
    func unreadable(kind: String) throws {
        let dir = TestSupport.temporaryDirectory("forkline-replay")
        var path = dir + "/nothing-here"
        var message = "No such file"
        switch kind {
        case "empty-dir": path = dir; message = "no trace files"
        case "garbage":
            path = dir + "/1.0000000000000001.flt"
            try Data((0..<500).map { UInt8(truncatingIfNeeded: $0 &* 37) }).write(to: URL(fileURLWithPath: path))
            message = "bad magic"
        case "newer-version":
            var bytes = ProcessTrace(header: ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0), events: []).binaryBytes()
            bytes[8] = 9
            path = dir + "/1.0000000000000001.flt"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            message = "version 9 is newer"
        default: break
        }
        let out = try TestSupport.run(Self.replay, ["check", path])
        #expect(out.status == 2)
        #expect(out.stderr.contains(message), "\(out.stderr)")
    }

    @Test("a truncated binary file is reported as damaged and the sound part is checked")
    func truncatedBinary() throws {
        let dir = TestSupport.temporaryDirectory("forkline-replay")
        let trace = try Trace.load(path: Self.fixtures + "/valid/four-fork-children.jsonl")
        for p in trace.processes {
            var bytes = p.binaryBytes()
            if p.header.pid == 100 { bytes.removeLast(12) }  // cut the root's last record (its exit)
            try Data(bytes).write(to: URL(fileURLWithPath: "\(dir)/\(p.header.pid).\(hex16(p.header.puid)).flt"))
        }
        let out = try TestSupport.run(Self.replay, ["check", dir])
        #expect(out.status == 1)
        #expect(out.stdout.contains("[damaged]"))
        #expect(out.stdout.contains("truncated"))
        #expect(!out.stdout.contains("[missing-join]"), "the joins before the cut are still checked")
    }

    @Test("export --format jsonl round-trips a binary trace")
    func exportRoundTrip() throws {
        let dir = TestSupport.temporaryDirectory("forkline-replay")
        let trace = try Trace.load(path: Self.fixtures + "/valid/crash-and-kill-joined.jsonl")
        for p in trace.processes {
            try Data(p.binaryBytes()).write(to: URL(fileURLWithPath: "\(dir)/\(p.header.pid).\(hex16(p.header.puid)).flt"))
        }
        let out = try TestSupport.run(Self.replay, ["export", "--format", "jsonl", dir])
        #expect(out.status == 0)
        let back = try JSONLines.parse(Array(out.stdout.utf8), source: "export")
        #expect(back.map(\.events) == trace.processes.map(\.events))
        let bad = try TestSupport.run(Self.replay, ["export", "--format", "xml", dir])
        #expect(bad.status != 0 && bad.stderr.contains("unknown format"))
    }

    @Test("every fixture directory: check exits 0 for valid/, 1 for invalid/")
    func directories() throws {
        #expect(try TestSupport.run(Self.replay, ["check", Self.fixtures + "/invalid"]).status == 1)
        for f in GoldenFixtureTests.fixtureFiles where f.hasPrefix("valid/") {
            let out = try TestSupport.run(Self.replay, ["check", Self.fixtures + "/" + f])
            #expect(out.status == 0, "\(f): \(out.stdout)")
        }
    }

    @Test("usage errors exit 64; unreadable input exits 2 from every subcommand")
    func usageAndInputErrors() throws {
        #expect(try TestSupport.run(Self.replay, ["check"]).status == 64)
        #expect(try TestSupport.run(Self.replay, ["frobnicate"]).status == 64)
        for sub in [["show"], ["stats"], ["export", "--format", "jsonl"], ["check", "--json"]] {
            let out = try TestSupport.run(Self.replay, sub + ["/nonexistent/trace"])
            #expect(out.status == 2, "\(sub)")
        }
    }

    @Test("export -o writes a file replay reads back; stats prints per-process lines")
    func exportToFileAndStats() throws {
        let dir = Scratch.directory()
        let out = try TestSupport.run(Self.replay, ["export", "--format", "jsonl", "-o", dir + "/t.jsonl", Self.fixtures + "/valid/forkserver-chain.jsonl"])
        #expect(out.status == 0 && out.stdout.isEmpty)
        #expect(try TestSupport.run(Self.replay, ["check", dir + "/t.jsonl"]).status == 0)
        let stats = try TestSupport.run(Self.replay, ["stats", dir])
        #expect(stats.status == 0)
        #expect(stats.stdout.hasPrefix("3 processes, 11 events"))
        #expect(stats.stdout.contains("forkserver [spawn]"))
    }

    @Test("show --pid keeps only the chosen lanes; piped output has no colour codes")
    func showFiltered() throws {
        let out = try TestSupport.run(Self.replay, ["show", "--width", "60", "--pid", "101", "--pid", "102", Self.fixtures + "/valid/four-fork-children.jsonl"])
        #expect(out.status == 0)
        let lanes = out.lines.filter { $0.contains("|") && !$0.hasPrefix("time") }
        #expect(lanes.count == 2)
        #expect(lanes[0].hasPrefix("101 Process-1 [fork]"))
        #expect(!out.stdout.contains("\u{1B}["))
        #expect(out.lines.allSatisfy { $0.count <= 60 || !$0.contains("|") })
    }

    @Test("show draws a lane per process with fork, start, exit and join marks")
    func show() throws {
        let out = try TestSupport.run(Self.replay, ["show", "--width", "80", Self.fixtures + "/valid/four-fork-children.jsonl"])
        #expect(out.status == 0)
        let lanes = out.lines.filter { $0.contains("|") && !$0.hasPrefix("time") }
        #expect(lanes.count == 5)
        #expect(lanes[0].contains("F") && lanes[0].contains("J") && lanes[0].contains("X"))
        #expect(lanes.dropFirst().allSatisfy { $0.contains("S") && $0.contains("X") })
    }
}

@Suite("Ordering assertions for tests")
struct HappensBeforeTests {
    @Test("a fork happens before its child's events, which happen before the join; siblings are unordered")
    func causalOrder() throws {
        let trace = try Trace.load(path: GoldenFixtureTests.root.path + "/valid/four-fork-children.jsonl")
        let forks = trace.events(.fork)
        let joins = trace.events(.join)
        let child1 = try #require(trace.processes(named: "Process-1").first)
        let child2 = try #require(trace.processes(named: "Process-2").first)
        #expect(trace.happensBefore(forks[0].id, child1.events.last!.id))
        #expect(trace.happensBefore(child1.events.last!.id, joins[0].id))
        #expect(!trace.happensBefore(joins[0].id, child1.events.first!.id))
        #expect(!trace.happensBefore(child1.events.last!.id, child2.events.last!.id))
    }
}
