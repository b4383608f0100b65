import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Stats and the critical path")
struct StatsTests {
    static func load(_ file: String) throws -> Trace { try Trace.load(path: GoldenFixtureTests.root.path + "/" + file) }

    @Test("lifetime, waiting and busy time per process")
    func timings() throws {
        // main: start 1001, fork 1002, send 1004, send 1005, join 1009, exit 1010 (us);
        // the child: start 1003, recv 1006, recv 1007, exit 1008.
        let t = try Self.load("valid/messages-in-order.jsonl").timings()
        #expect(t.map(\.pid) == [400, 401])
        #expect(t[0].lifetime == 9_000 && t[1].lifetime == 5_000)
        // main waited for the child's exit from its last send (1005) to the exit (1008).
        #expect(t[0].waited == 3_000 && t[0].busy == 6_000)
        // The child waited for the first send: from its start (1003) to the send (1004).
        #expect(t[1].waited == 1_000 && t[1].busy == 4_000)
    }

    @Test("channel counts and send -> recv latency percentiles")
    func channels() throws {
        let c = try Self.load("valid/messages-in-order.jsonl").channelStats()
        #expect(c.count == 1)
        #expect(c[0].channel == 0xC4 && c[0].sends == 2 && c[0].recvs == 2)
        #expect(c[0].latency.count == 2 && c[0].latency.p50 == 2_000 && c[0].latency.max == 2_000)
        let p = Percentiles([5, 1, 4, 2, 3, 10, 9, 8, 7, 6])
        #expect(p.p50 == 5 && p.p90 == 9 && p.p99 == 10 && p.max == 10 && p.count == 10)
        #expect(Percentiles([]).max == 0)
    }

    @Test("the critical path runs from the first event to the last along causal edges")
    func criticalPath() throws {
        let trace = try Self.load("valid/messages-in-order.jsonl")
        let cp = trace.criticalPath()
        #expect(cp.segments.map(\.from.pid) == [400, 401, 400])
        #expect(cp.segments.map(\.via) == [nil, "message", "join"])
        #expect(cp.segments[0].to.kind == .send && cp.segments[0].to.seq == 2)
        #expect(cp.segments[1].from.kind == .recv && cp.segments[1].to.kind == .exit)
        #expect(cp.duration == 9_000)
        // Each step happens before the next.
        for (a, b) in zip(cp.segments, cp.segments.dropFirst()) { #expect(trace.happensBefore(a.to.id, b.from.id)) }
        // Four children exit in order, then main joins them in order: main's first join waited
        // for child 1 (the later joins found their children gone), so child 1 is on the path.
        let four = try Self.load("valid/four-fork-children.jsonl").criticalPath()
        #expect(four.segments.map(\.from.pid) == [100, 101, 100])
        #expect(four.segments.map(\.via) == [nil, "fork", "join"])
    }

    @Test("stats --json keeps processes and events and adds per_process, channels, flows, critical_path")
    func json() throws {
        let out = try TestSupport.run(Executables.replay, ["stats", "--json", GoldenFixtureTests.root.path + "/valid/messages-in-order.jsonl"])
        #expect(out.status == 0)
        let s = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
        #expect(s["processes"] as? Int == 2)
        #expect((s["events"] as? [String: Int])?["send"] == 2)
        let per = try #require(s["per_process"] as? [[String: Any]])
        #expect(per.map { $0["busy_ns"] as? Int } == [6_000, 4_000])
        let chans = try #require(s["channels"] as? [[String: Any]])
        #expect(chans.first?["channel"] as? String == "0xc4")
        #expect((chans.first?["latency_ns"] as? [String: Int])?["p50"] == 2_000)
        #expect(((s["flows"] as? [String: Any])?["message"] as? [String: Int])?["count"] == 2)
        let cp = try #require(s["critical_path"] as? [String: Any])
        #expect(cp["ns"] as? Int == 9_000)
        #expect((cp["segments"] as? [[String: Any]])?.map { $0["pid"] as? Int } == [400, 401, 400])
        let text = try TestSupport.run(Executables.replay, ["stats", GoldenFixtureTests.root.path + "/valid/messages-in-order.jsonl"])
        #expect(text.stdout.contains("busy 6.0 us, waited 3.0 us"))
        #expect(text.stdout.contains("0xc4: 2 sent, 2 received"))
        #expect(text.stdout.contains("critical path (9.0 us)"))
    }
}
