import Foundation
import ForklineReplay
import ForklineSpawn
import ForklineTestSupport
import ForklineTrace
import Testing

/// `Barrier(parties:action:timeout:)` across real processes of every start method (Python's
/// `Barrier(parties, action, timeout)`); the trace is the oracle.
@Suite("Barrier action and default timeout")
struct BarrierActionTests {
    static let methods: [StartMethod] = [.fork, .spawn, .forkserver]

    /// Runs the fixture scenario, expects exit 0 and a trace that checks (as SyncTests does).
    func run(_ args: [String]) throws -> (TestSupport.Output, Trace) { try SyncTests().run(args) }

    @Test("the action runs once per round, in the last party to arrive, after every arrival and before any party leaves",
          arguments: methods)
    func actionOncePerRound(method: StartMethod) throws {
        let (out, trace) = try run(["barrier-action-rounds", method.description])
        #expect(out.lines == ["children exited(0) exited(0)", "actions 5"])
        let marks = trace.events(.mark).filter { $0["label"]?.string == "barrier action" }.sorted { $0.time < $1.time }
        #expect(marks.count == 5)
        let arrivals = trace.events(.barrierArrive), passes = trace.events(.barrierPass)
        for (round, mark) in marks.enumerated() {
            let arrived = arrivals.filter { $0["round"]?.uint == UInt64(round) }
            let passed = passes.filter { $0["round"]?.uint == UInt64(round) }
            #expect(arrived.count == 3 && passed.count == 3)
            // All three arrived before the action (one clock: CLOCK_MONOTONIC), and the action is
            // recorded by the last of them, after its own arrival.
            #expect(arrived.allSatisfy { $0.time < mark.time })
            let last = try #require(arrived.first { $0["index"]?.uint == 2 })
            #expect(last.puid == mark.puid && trace.happensBefore(last.id, mark.id))
            // Nobody left the round before the action returned.
            #expect(passed.allSatisfy { $0.time > mark.time })
        }
    }

    @Test("an action that throws breaks the barrier: the party that ran it gets its error, the others brokenBarrier, none passes",
          arguments: methods)
    func throwingActionBreaks(method: StartMethod) throws {
        let (out, trace) = try run(["barrier-action-throws", method.description])
        #expect(out.lines == ["outcomes exited(6) exited(7) exited(7)", "broken true"])
        #expect(trace.events(.barrierPass).isEmpty)
        // Reason 5: the action failed.
        #expect(trace.events(.barrierBroken).filter { $0["reason"]?.uint == 5 }.count == 1)
    }

    @Test("a spawn or forkserver party without the action that arrives last breaks the round and says to attach it",
          arguments: [StartMethod.spawn, .forkserver])
    func missingActionBreaks(method: StartMethod) throws {
        let (out, trace) = try run(["barrier-action-missing", method.description])
        #expect(out.lines == ["parent brokenBarrier child exited(6) actions 0"])
        #expect(trace.events(.barrierPass).isEmpty)
    }

    @Test("the default timeout reaches every process and ends a wait that gives none, blocking and async", arguments: methods)
    func defaultTimeout(method: StartMethod) throws {
        let (out, trace) = try run(["barrier-action-default-timeout", method.description])
        #expect(out.lines == ["timeout 0.2 seconds", "child exited(7)", "async brokenBarrier timed out", "negative invalidArgument"])
        #expect(trace.events(.barrierBroken).filter { $0["reason"]?.uint == 1 }.count == 2)
    }
}
