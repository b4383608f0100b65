// Barrier(parties:action:timeout:) scenarios (`forkline-fixture barrier-action-* METHOD`): the
// action runs once per round in the last party, a throwing action breaks the barrier, a party
// without the action cannot pass a round silently, and the default timeout reaches every
// process. Children report through their exit status (0 fine, 6 broken with the action's own
// error, 7 broken, 8 wrong timeout, 9 wrong); the parent prints one fact a line.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct BarrierActionArgs: Codable, Sendable {
    var barrier: Barrier
    var count: SharedValue<Int>
    var rounds: Int
    /// Attach the action in the child (spawn and forkserver children decode it without one).
    var attach: Bool
    /// Arrive only once this many parties wait (so this child arrives last).
    var arriveAfter: Int
}

struct BoomError: Error, CustomStringConvertible {
    var description: String { "boom in the action" }
}

enum BarrierActionScenarios {
    /// The action: counts the round and marks it in the trace.
    static func bump(_ count: SharedValue<Int>) -> @Sendable () throws -> Void {
        {
            count.withLock { $0 += 1 }
            Tracer.mark("barrier action")
        }
    }

    static let party = EntryPoint<BarrierActionArgs>("barrier-action-party") { a in
        let b = a.attach ? a.barrier.withAction(bump(a.count)) : a.barrier
        if a.arriveAfter > 0 { SyncScenarios.awaitWaiting(b, a.arriveAfter) }
        for _ in 0..<a.rounds {
            do { try b.wait(timeout: .seconds(60)) } catch let error as ChannelError {
                exit(error.message.contains("withAction") || error.message.contains("boom in the action") ? 6 : 7)
            }
        }
    }

    /// Waits at a barrier that has a default timeout of 200 ms and nobody else: the wait with
    /// no timeout of its own must end, broken by that timeout. Exits 8 if the decoded barrier
    /// does not carry the default.
    static let lonelyParty = EntryPoint<BarrierActionArgs>("barrier-action-lonely") { a in
        guard a.barrier.timeout == .milliseconds(200) else { exit(8) }
        do { try a.barrier.wait() } catch let error as ChannelError { exit(error.message.contains("timed out") ? 7 : 9) }
        exit(9)
    }

    static let entries: [any AnyEntryPoint] = [party, lonelyParty]

    static func start(_ entry: EntryPoint<BarrierActionArgs>, _ a: BarrierActionArgs, _ m: StartMethod) throws -> ChildProcess {
        try Queues.start(entry, a, m, name: "party", pass: [a.barrier, a.count])
    }

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        if scenario == "barrier-action-default-timeout" {
            let b = try defaultTimeoutBlocking(m)
            // The async twin uses the default too.
            do { try await b.wait() } catch { print("async \(error.code) \(error.message.contains("timed out") ? "timed out" : error.message)") }
            do { _ = try Barrier(parties: 2, timeout: .seconds(-1)) } catch { print("negative \(error.code)") }
        } else {
            try runBlocking(scenario, m)
        }
    }

    /// The blocking half of `barrier-action-default-timeout`: a child's wait without a timeout
    /// ends by the default; returns the barrier, reset.
    static func defaultTimeoutBlocking(_ m: StartMethod) throws -> Barrier {
        let b = try Barrier(parties: 2, timeout: .milliseconds(200))
        print("timeout \(b.timeout.map { "\($0)" } ?? "none")")
        let kid = try start(lonelyParty, BarrierActionArgs(barrier: b, count: try SharedValue(0), rounds: 1, attach: false, arriveAfter: 0), m)
        print("child \(try SyncScenarios.joined(kid))")
        b.reset()
        return b
    }

    static func runBlocking(_ scenario: String, _ m: StartMethod) throws {
        let count = try SharedValue(0)
        switch scenario {
        case "barrier-action-rounds":
            // Three parties, five rounds: the action runs five times, once per round.
            let b = try Barrier(parties: 3, action: bump(count), timeout: .seconds(60))
            let a = BarrierActionArgs(barrier: b, count: count, rounds: 5, attach: m != .fork, arriveAfter: 0)
            let kids = try (0..<2).map { _ in try start(party, a, m) }
            for _ in 0..<5 { try b.wait() }
            print("children \(try SyncScenarios.statuses(kids))")
            print("actions \(count.load())")
        case "barrier-action-throws":
            // The action throws: every party gets brokenBarrier, the one that ran it with the
            // action's error; nobody passes.
            let b = try Barrier(parties: 3, action: { throw BoomError() })
            let a = BarrierActionArgs(barrier: b, count: count, rounds: 1, attach: false, arriveAfter: 0)
            let kids = try (0..<2).map { _ in try start(party, a, m) }
            var own = "passed"
            do { try b.wait(timeout: .seconds(60)) } catch {
                own = error.message.contains("boom in the action") ? "exited(6)" : "exited(7)"
            }
            var all = try kids.map { try SyncScenarios.joined($0) } + [own]
            all.sort()
            print("outcomes \(all.joined(separator: " "))")
            print("broken \(b.isBroken)")
        case "barrier-action-missing":
            // A spawn or forkserver child that did not attach the action arrives last.
            let b = try Barrier(parties: 2, action: bump(count))
            let a = BarrierActionArgs(barrier: b, count: count, rounds: 1, attach: false, arriveAfter: 1)
            let kid = try start(party, a, m)
            var own = "passed"
            do { try b.wait(timeout: .seconds(60)) } catch { own = "\(error.code)" }
            print("parent \(own) child \(try SyncScenarios.joined(kid)) actions \(count.load())")
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }
}
