import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// The pool's readiness, backpressure (`maxPending`) and cancellation policy, run by the service
/// fixture (an argument-parser program), checked by what it prints and by its trace.
@Suite("Pool readiness, backpressure and cancellation policy")
struct PoolPolicyTests {
    func run(_ arguments: [String]) throws -> PoolServiceTests.Run {
        try PoolServiceTests().run(arguments)
    }

    @Test("waitUntilReady returns once every worker is up (workerPIDs names live processes); a pool whose workers cannot start throws",
          arguments: ["forkserver", "spawn", "fork"])
    func readiness(method: String) throws {
        let r = try run(["ready", "--method", method])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["after 2 alive=true", "again ok", "broken workerStartFailed"])
        #expect(r.report.ok, "\(r.report.violations)")
    }

    @Test("maxPending with .throw: a call that does not fit throws overloaded at once and submits nothing; room comes back as tasks finish")
    func backpressureThrow() throws {
        let r = try run(["backpressure", "--policy", "throw"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["applyAsync overloaded", "apply overloaded", "map overloaded", "after room 1"])
        #expect(r.report.ok, "\(r.report.violations)")
        // Two tasks, then the one after room came back: the refused calls never reached the pool.
        #expect(r.events(.poolSubmit).count == 3)
    }

    @Test("maxPending with .wait: an async call waits for room (in order; a cancelled waiter leaves); a call larger than the bound runs alone")
    func backpressureWait() throws {
        let r = try run(["backpressure", "--policy", "wait"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["applyAsync overloaded", "cancelled waiter CancellationError", "third 3 first ready=true", "map [1, 1, 1, 1]"])
        #expect(r.report.ok, "\(r.report.violations)")
        let submits = r.events(.poolSubmit)
        #expect(submits.count == 2 + 1 + 4)
        // The third task was submitted only once the first was delivered (room for one), never
        // while both held the pool's two places.
        let results = r.events(.poolResult)
        guard submits.count >= 3, let first = results.first else { return }
        let waited = r.trace.happensBefore(first.id, submits[2].id)
        #expect(waited, "the third task was submitted before any task was delivered")
    }

    @Test("cancellation .abandon: the caller returns at once; the running task runs to its end in its worker")
    func cancelAbandon() throws {
        let r = try run(["cancel", "--policy", "abandon"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["long CancellationError", "tiny 1"])
        #expect(r.report.ok, "\(r.report.violations)")
        #expect(r.events(.taskEnd).count == 2)
        #expect(r.events(.workerReplaced).isEmpty)
    }

    @Test("cancellation .killWorker: the running task's worker is killed and replaced; the next task runs on the new worker at once")
    func cancelKill() throws {
        let r = try run(["cancel", "--policy", "kill"])
        #expect(r.out.status == 0, "\(r.out.stderr)")
        #expect(r.lines == ["long CancellationError", "tiny 1"])
        #expect(r.report.ok, "\(r.report.violations)")
        let begins = r.events(.taskBegin)
        #expect(begins.count == 2)
        // The 20 s task never ended: its worker was killed (replaced for reason 4, cancelled) and
        // its result says cancelled (outcome 4).
        #expect(r.events(.taskEnd).count == 1)
        #expect(r.events(.workerReplaced).map { $0["reason"]?.uint } == [4])
        #expect(r.events(.poolResult).compactMap { $0["outcome"]?.uint }.sorted() == [0, 4])
        if begins.count == 2 { #expect(begins[0].puid != begins[1].puid) }
    }
}
