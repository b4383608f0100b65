import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Issue 16 item 1: every view says how each process ended (exit code, crash signal, killed by
/// whom), draws an unfinished task up to the death, and draws deaths in one colour.
@Suite("How each process ended, in every view")
struct EndingViewTests {
    /// A real `forkline-examples pool-crash` run (task 3 SIGKILLs its own worker), traced.
    static func poolCrash() throws -> Trace {
        let dir = TestSupport.temporaryDirectory("forkline-pool-crash")
        let out = try TestSupport.run(TestSupport.executable("forkline-examples"), ["pool-crash", "--method", "fork"],
                                      environment: [Tracer.environmentVariable: dir], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        return try Trace.load(path: dir)
    }

    /// The worker that began task 3 (the one that killed itself).
    static func victim(_ trace: Trace) throws -> Int {
        try #require(trace.processes.firstIndex { p in p.events.contains { $0.kind == .taskBegin && $0["task"]?.uint == 3 } })
    }

    static func chrome(_ trace: Trace) throws -> [[String: Any]] {
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(ChromeTrace.export(trace).utf8)) as? [String: Any])
        return try #require(obj["traceEvents"] as? [[String: Any]])
    }

    @Test("the trace model: a worker SIGKILLed mid-task is killed, its time bounded by the join that saw it")
    func model() throws {
        let trace = try Self.poolCrash()
        let v = try Self.victim(trace)
        let end = trace.endings[v]
        #expect(end.kind == .killed(9) && !end.exact && end.isDeath)
        #expect(end.observedBy?.kind == .join || end.observedBy?.kind == .workerReplaced)
        #expect(end.summary == "killed by SIGKILL (sender not recorded)")
        // The main process and the other workers exited 0 by their own records.
        for (i, e) in trace.endings.enumerated() where i != v { #expect(e.kind == .exited(0) && e.exact, "\(trace.processes[i].name)") }
        // A kill recorded by the parent names the sender.
        let fixture = try Trace.load(path: GoldenFixtureTests.root.path + "/valid/crash-and-kill-joined.jsonl")
        #expect(fixture.endings.map(\.summary) == ["exit 0", "crashed: SIGSEGV", "killed by SIGKILL from main pid 200"])
    }

    @Test("Perfetto: the killed worker's lifetime says so and runs to its death, its task is a slice to the death, deaths share a colour")
    func chromeShowsTheDeath() throws {
        let trace = try Self.poolCrash()
        let v = try Self.victim(trace), p = trace.processes[v], end = trace.endings[v]
        let events = try Self.chrome(trace)
        let t0 = try #require(trace.timeSpan).lowerBound
        let pid = Int(p.header.pid)
        let life = try #require(events.first { $0["cat"] as? String == "process" && $0["pid"] as? Int == pid })
        let args = try #require(life["args"] as? [String: Any])
        #expect(args["end"] as? String == "killed by SIGKILL (sender not recorded)")
        let lifeEnd = (life["ts"] as? Double ?? 0) + (life["dur"] as? Double ?? 0)
        #expect(abs(lifeEnd - Double(end.time - t0) / 1000) < 0.01, "the lifetime runs to the death")
        let task = try #require(events.first { $0["cat"] as? String == "task" && $0["pid"] as? Int == pid && $0["name"] as? String == "task 3" })
        let taskEnd = (task["ts"] as? Double ?? 0) + (task["dur"] as? Double ?? 0)
        #expect(abs(taskEnd - lifeEnd) < 0.01, "the unfinished task is drawn to the death")
        #expect((task["args"] as? [String: Any])?["unfinished"] as? String == "killed by SIGKILL (sender not recorded)")
        let deaths = events.filter { $0["cat"] as? String == "death" }
        #expect(deaths.count == 1 && deaths.first?["pid"] as? Int == pid)
        #expect(deaths.allSatisfy { $0["cname"] as? String == "terrible" && $0["name"] as? String == "died" })
        // The join that saw the death is drawn as a death too.
        let join = try #require(events.first { $0["name"] as? String == "join" && ($0["args"] as? [String: Any])?["status"] as? String == "signaled(SIGKILL)" })
        #expect(join["cname"] as? String == "terrible")
        // A crash (fixture) is the same colour and name.
        let fx = try Self.chrome(try Trace.load(path: GoldenFixtureTests.root.path + "/valid/crash-and-kill-joined.jsonl"))
        let fd = fx.filter { $0["cat"] as? String == "death" }
        #expect(fd.count == 2 && fd.allSatisfy { $0["cname"] as? String == "terrible" && $0["name"] as? String == "died" })
    }

    @Test("html: the lane says how it ended and ends in a death mark; the join that saw it is the death colour")
    func htmlShowsTheDeath() throws {
        let trace = try Self.poolCrash()
        let v = try Self.victim(trace)
        let data = try HTMLPageTests.data(HTMLPage.render(trace))
        let lanes = try #require(data["lanes"] as? [[String: Any]])
        #expect(lanes[v]["end"] as? String == "killed by SIGKILL (sender not recorded)")
        #expect(lanes[v]["death"] as? Bool == true)
        #expect(lanes.enumerated().allSatisfy { $0.offset == v || $0.element["death"] as? Bool == false })
        let tasks = try #require(data["tasks"] as? [[String: Any]])
        let t3 = try #require(tasks.first { $0["l"] as? Int == v && $0["n"] as? String == "task 3" })
        #expect(t3["open"] as? Bool == true && t3["b"] as? Int == lanes[v]["b"] as? Int)
        #expect(data["deathColor"] as? String == ProcessEnding.deathColor)
    }

    @Test("show: a killed worker ends in ! with its signal under the lane, like a crash")
    func showShowsTheDeath() throws {
        let trace = try Self.poolCrash()
        let v = try Self.victim(trace), p = trace.processes[v]
        let lines = Timeline(width: 140).render(trace).split(separator: "\n").map(String.init)
        let lane = try #require(lines.firstIndex { $0.hasPrefix("\(p.header.pid) \(p.name)") })
        #expect(lines[lane].trimmingCharacters(in: .whitespaces).hasSuffix("!"), "\(lines[lane])")
        #expect(lines[lane + 1].contains("! pid \(p.header.pid) \(p.name): killed by SIGKILL (sender not recorded)"), "\(lines[lane + 1])")
    }
}
