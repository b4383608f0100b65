import Foundation
import ForklinePool
import ForklineReplay
import ForklineTestSupport
import Testing

/// Python's Pool API a porter reaches for: `callback=` / `error_callback=`, `starmap` of any
/// arity, and the remote backtrace of a task that throws; in real pools of every start method,
/// with the trace checked.
@Suite("Pool callbacks, starmap of any arity, remote backtraces")
struct PoolAPITests {
    static let methods = ["fork", "spawn", "forkserver"]

    func run(_ args: [String]) throws -> TestSupport.Output {
        let (out, dir) = try TestSupport.runFixture(args, timeout: 120)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(out.status == 0, "\(out.stderr)")
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        return out
    }

    @Test("callback and errorCallback run once per call, in the driver, before the handle's value is ready", arguments: methods)
    func callbacks(method: String) throws {
        let out = try run(["poolapi-callbacks", method])
        #expect(out.lines == [
            "apply 49 seen [\"apply ok 49@driver\"]",
            "apply threw taskFailed seen 2",
            "map [1, 4, 9, 16, 25] seen 3",
            "map threw taskFailed seen 4",
            "starmap [8, 9] seen 5",
            "starmap4 [1234] seen 6",
            "callback apply ok 49@driver",
            "callback apply error taskFailed@driver",
            "callback map ok [1, 4, 9, 16, 25]@driver",
            "callback map error taskFailed@driver",
            "callback starmap ok [8, 9]@driver",
            "callback starmap4 ok [1234]@driver",
        ])
    }

    @Test("starmap takes tuples of any length (parameter packs); pairs and triples work as before", arguments: methods)
    func starmapAnyArity(method: String) throws {
        let out = try run(["poolapi-starmap", method])
        #expect(out.lines == [
            "pairs [1024, 27]",
            "triples [10, 37]",
            "fours [1234, 5678, 9090]",
            "fives [\"a-1-0.5-true-3\", \"b--2-2.25-false-0\"]",
            "map of Arguments [4321]",
        ])
    }

    @Test("a task that throws comes back with its error's type and text and the worker's backtrace of the throw site, symbolised",
          arguments: methods)
    func remoteBacktrace(method: String) throws {
        let out = try run(["poolapi-remote-backtrace", method])
        let lines = out.lines
        let deep = try #require(lines.first { $0.hasPrefix("deep taskFailed") })
        #expect(deep.contains("DeepError description=failed 3 levels down"), "\(deep)")
        let frames = lines.filter { $0.hasPrefix("deep frame ") }
        // Innermost first: the throwing function, then its callers, in order.
        let throwAt = frames.firstIndex { $0.contains("Deep.throwHere") }
        let middleAt = frames.firstIndex { $0.contains("Deep.middle") }
        let topAt = frames.firstIndex { $0.contains("Deep.top") }
        #expect(throwAt == 0, "\(frames)")
        #expect(throwAt != nil && middleAt != nil && topAt != nil && throwAt! < middleAt! && middleAt! < topAt!, "\(frames)")
        // Not the worker's own loop, nor the runtime's hook.
        #expect(!frames.contains { $0.contains("PoolWorker") || $0.contains("swift_willThrow") }, "\(frames)")
        // The error's description shows it, under the message.
        #expect(lines.contains { $0.hasPrefix("deep text") && $0.contains("remote backtrace (worker pid") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("deep text") && $0.contains("Deep.throwHere") })
        // A typed throw is caught as well.
        let typed = lines.filter { $0.hasPrefix("typed frame ") }
        #expect(typed.first?.contains("Deep.typed") == true, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("typed taskFailed") && $0.contains("TypedError description=typed failure") })
    }

    @Test("abandon: a task the worker prefetched for a cancelled call is dropped, not run; the trace says so and checks",
          arguments: methods)
    func abandonDropsPrefetched(method: String) throws {
        let (out, dir) = try TestSupport.runFixture(["poolapi-abandon-prefetched", method], timeout: 120)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["abandoned call cancelled", "next call 25"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // The call's two tasks: the 400 ms one (begun, or dropped too if the machine was slow
        // to start it) and the one queued behind it, which must not begin.
        let submits = trace.events(.poolSubmit).sorted { ($0["task"]?.uint ?? 0) < ($1["task"]?.uint ?? 0) }
        let queued = try #require(submits.dropFirst().first?["task"]?.uint)
        #expect(!trace.events(.taskBegin).contains { $0["task"]?.uint == queued }, "the prefetched task ran")
        #expect(trace.events(.taskEnd).contains { $0["task"]?.uint == queued && $0["ok"]?.uint == 2 }, "no drop recorded")
        // Both are delivered as cancelled failures, once.
        let results = trace.events(.poolResult).filter { $0["task"]?.uint == queued }
        #expect(results.count == 1)
    }
}
