import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// RLock, Semaphore, BoundedSemaphore, Event, Condition and Barrier across real processes of
/// every start method; the trace is the oracle (`check()` and `happensBefore`).
@Suite("Process-shared synchronisation")
struct SyncTests {
    static let methods: [StartMethod] = [.fork, .spawn, .forkserver]

    func run(_ args: [String]) throws -> (TestSupport.Output, Trace) {
        let (out, dir) = try TestSupport.runFixture(args)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(out.status == 0, "\(out.stderr)")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        return (out, trace)
    }

    @Test("three processes share a semaphore of 2: never more than 2 inside, and the trace proves it", arguments: methods)
    func semaphoreCapacity(method: StartMethod) throws {
        let shmBefore = SharedMemoryTests.shmEntries()
        let (out, trace) = try run(["sem-capacity", method.description, "3"])
        #expect(SharedMemoryTests.shmEntries().subtracting(shmBefore).isEmpty, "no segment left in /dev/shm")
        #expect(out.lines == ["children exited(0) exited(0) exited(0)", "peak 2 value 2"] || out.lines == ["children exited(0) exited(0) exited(0)", "peak 1 value 2"])
        let acquires = trace.events(.semAcquire), releases = trace.events(.semRelease)
        #expect(acquires.count == 300 && releases.count == 300)
        // One ticket per operation, 1...600, and every acquire leaves a value in 0...1.
        let tickets = (acquires + releases).compactMap { $0["ticket"]?.uint }
        #expect(Set(tickets) == Set(1...600))
        #expect(acquires.allSatisfy { ($0["value"]?.uint ?? 9) <= 1 && $0["capacity"]?.uint == 2 })
        // Each acquire right after a release in ticket order was enabled by it: the release
        // happens before it, whichever processes they are in.
        let byTicket = Dictionary(uniqueKeysWithValues: (acquires + releases).map { ($0["ticket"]!.uint!, $0) })
        for t in UInt64(2)...600 {
            guard let a = byTicket[t], a.kind == .semAcquire, let r = byTicket[t - 1], r.kind == .semRelease else { continue }
            #expect(trace.happensBefore(r.id, a.id))
        }
    }

    @Test("a semaphore trace with a hold beyond the capacity is caught")
    func overCapacityIsCaught() throws {
        // The real trace of a semaphore of 2, replayed as if its capacity were 1.
        let (out, dir) = try TestSupport.runFixture(["sem-capacity", "fork", "2"])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(out.status == 0)
        let trace = try Trace.load(path: dir)
        let bothTaken = trace.events(.semAcquire).contains { $0["value"]?.uint == 0 }
        var processes = trace.processes
        for (pi, p) in processes.enumerated() {
            processes[pi].events = p.events.map { e in
                guard e.kind == .semAcquire || e.kind == .semRelease else { return e }
                var e = e
                e.args[2] = .uint(max(1, e.args[2].uint ?? 1) - 1)
                e.args[3] = .uint(1)
                return e
            }
        }
        let report = Trace(processes: processes).check()
        #expect(report.rules.contains("semaphore-over-capacity") == bothTaken, "\(report.violations.prefix(3))")
        #expect(report.violations.allSatisfy { $0.rule == .semaphoreOverCapacity })
    }

    @Test("releasing a BoundedSemaphore above its value is an overReleased error, in a child and in the parent", arguments: methods)
    func boundedOverRelease(method: StartMethod) throws {
        let (out, trace) = try run(["bounded-over-release", method.description])
        #expect(out.lines == ["child exited(0)", "parent overReleased", "value 1"])
        #expect(trace.events(.semRelease).count == 1, "the refused releases change nothing")
    }

    @Test("setting an Event wakes the processes waiting for it", arguments: methods)
    func eventWakes(method: StartMethod) throws {
        let (out, trace) = try run(["event-wakes", method.description, "3"])
        #expect(out.lines == ["set before: false", "children exited(0) exited(0) exited(0)"])
        let set = try #require(trace.events(.eventSet).first)
        let waits = trace.events(.eventWait)
        #expect(waits.count == 3 && waits.allSatisfy { $0["ok"]?.uint == 1 && $0["generation"]?.uint == 1 })
        for w in waits { #expect(trace.happensBefore(set.id, w.id)) }
    }

    @Test("a Condition over a Lock, or over an RLock held two levels deep, hands 20 items each to three consumer processes",
          arguments: methods, ["condition-pc", "condition-pc-rlock"])
    func producerConsumer(method: StartMethod, scenario: String) throws {
        let (out, trace) = try run([scenario, method.description, "3"])
        #expect(out.lines == ["children exited(0) exited(0) exited(0)", "left 0"])
        #expect(trace.events(.conditionNotify).count == 60)
        // Every notified wait happens after the notify whose state it saw.
        let notifies = Dictionary(uniqueKeysWithValues: trace.events(.conditionNotify).map { ($0["state"]!.uint!, $0) })
        for w in trace.events(.conditionWait) where w["notified"]?.uint == 1 {
            let n = try #require(notifies[w["state"]!.uint!])
            #expect(trace.happensBefore(n.id, w.id))
        }
    }

    @Test("three processes pass five barrier rounds together: no party leaves a round early", arguments: methods)
    func barrierRounds(method: StartMethod) throws {
        let (out, trace) = try run(["barrier-rounds", method.description, "3"])
        #expect(out.lines == ["children exited(0) exited(0) exited(0)", "broken false"])
        let arrivals = trace.events(.barrierArrive), passes = trace.events(.barrierPass)
        #expect(arrivals.count == 15 && passes.count == 15)
        for round in UInt64(0)..<5 {
            let arrived = arrivals.filter { $0["round"]?.uint == round }
            #expect(Set(arrived.compactMap { $0["index"]?.uint }) == [0, 1, 2])
            for p in passes where p["round"]?.uint == round {
                for a in arrived { #expect(a.id == p.id || a.puid == p.puid || trace.happensBefore(a.id, p.id)) }
            }
        }
    }

    @Test("an aborted barrier raises BrokenBarrier in every waiting party and in later waits", arguments: methods)
    func barrierAbort(method: StartMethod) throws {
        let (out, trace) = try run(["barrier-abort", method.description, "3"])
        #expect(out.lines == ["waiting 3", "children exited(7) exited(7) exited(7)", "later brokenBarrier", "after reset broken false"])
        #expect(trace.events(.barrierPass).isEmpty)
        #expect(trace.events(.barrierBroken).filter { $0["reason"]?.uint == 2 }.count == 1)
    }

    @Test("a party's timeout breaks the barrier for every party", arguments: methods)
    func barrierTimeout(method: StartMethod) throws {
        let (out, trace) = try run(["barrier-timeout", method.description, "2"])
        #expect(out.lines == ["waiting 2", "parent brokenBarrier", "children exited(7) exited(7)", "later brokenBarrier", "after reset broken false"])
        #expect(trace.events(.barrierBroken).filter { $0["reason"]?.uint == 1 }.count == 1)
    }

    @Test("a party SIGKILLed before arriving: the parent sees it die and aborts, the others raise", arguments: methods)
    func barrierPartyKilled(method: StartMethod) throws {
        let (out, _) = try run(["barrier-party-killed", method.description, "2"])
        #expect(out.lines == ["waiting 2", "victim signaled(SIGKILL)", "children exited(7) exited(7)", "later brokenBarrier", "after reset broken false"])
    }

    @Test("Barrier(parties: 3): a party SIGKILLed while it waits breaks the round for the two that arrive after it; reset() makes it work again",
          arguments: methods)
    func barrierPartyKilledWaiting(method: StartMethod) throws {
        let (out, trace) = try run(["fault-barrier-killed-waiting", method.description])
        #expect(out.lines == ["victim signaled(SIGKILL)", "parent brokenBarrier", "other exited(7)", "later brokenBarrier",
                              "after reset parent passed", "after reset children exited(0) exited(0)"])
        // Round 0 never passed; it broke because a party died (reason 4), then round 1 passed.
        #expect(trace.events(.barrierPass).allSatisfy { $0["round"]?.uint == 1 })
        #expect(trace.events(.barrierBroken).filter { $0["reason"]?.uint == 4 }.count == 1)
    }

    @Test("Barrier(parties: 3): a party SIGKILLed while it arrives (holding the barrier's monitor) breaks it for the parties after it",
          arguments: methods)
    func barrierPartyKilledArriving(method: StartMethod) throws {
        let (out, trace) = try run(["fault-barrier-killed-arriving", method.description])
        #expect(out.lines == ["victim signaled(SIGKILL)", "broken true", "other exited(7)", "parent brokenBarrier",
                              "after reset parent passed", "after reset children exited(0) exited(0)"])
        #expect(trace.events(.barrierBroken).filter { $0["reason"]?.uint == 4 }.count == 1)
    }

    @Test("a party SIGKILLed inside wait after its round passed leaves the round standing and the barrier usable",
          arguments: methods)
    func barrierPartyKilledAfterRelease(method: StartMethod) throws {
        let (out, trace) = try run(["fault-barrier-killed-after-release", method.description])
        #expect(out.lines == ["round 0 parent passed", "victim signaled(SIGKILL)", "round 1 parent passed child exited(0)",
                              "round 2 parent passed child exited(0)", "round 3 parent passed child exited(0)", "broken false"])
        #expect(trace.events(.barrierBroken).isEmpty)
    }

    @Test("an RLock is re-entrant for its holder, times out for others, and refuses a release it does not hold", arguments: methods)
    func rlockReentrant(method: StartMethod) throws {
        let (out, trace) = try run(["rlock", method.description])
        #expect(out.lines == ["extra release notOwner", "child exited(0)"])
        let depths = trace.events(.rlockAcquire).compactMap { $0["depth"]?.uint }
        #expect(depths == [1, 2, 3, 1, 2] || depths.sorted() == [1, 1, 2, 2, 3])
        let freed = try #require(trace.events(.rlockRelease).first { $0["depth"]?.uint == 0 && $0["generation"]?.uint == 1 })
        let next = try #require(trace.events(.rlockAcquire).first { $0["generation"]?.uint == 2 })
        #expect(trace.happensBefore(freed.id, next.id))
    }

    @Test("an RLock whose holder is SIGKILLed two levels deep tells the next acquirer, and works again", arguments: methods)
    func rlockHolderKilled(method: StartMethod) throws {
        let (out, trace) = try run(["rlock-holder-killed", method.description])
        #expect(out.lines == ["while held: timedOut", "holder signaled(SIGKILL)", "after the kill: previousOwnerDied", "nested: acquired", "again: acquired"])
        #expect(trace.events(.rlockAcquire).filter { $0["ownerDied"]?.uint == 1 }.count == 1)
    }

    @Test("the async twins wait without blocking: a semaphore, an event and a barrier across processes", arguments: methods)
    func asyncTwins(method: StartMethod) throws {
        let (out, trace) = try run(["sync-async", method.description])
        // The barrier index depends on who arrives first.
        #expect(out.lines.count == 6 && ["barrier index 0", "barrier index 1"].contains(out.lines[2]))
        #expect(out.lines.filter { !$0.hasPrefix("barrier index") } == ["semaphore true", "event true", "child exited(0)", "timeout false",
                                                                         "barrier timeout brokenBarrier"])
        let indexes = Set(trace.events(.barrierArrive).filter { $0["parties"]?.uint == 2 && $0["round"]?.uint == 0 }.compactMap { $0["index"]?.uint })
        #expect(indexes.isSuperset(of: [0, 1]))
        let set = try #require(trace.events(.eventSet).first), wait = try #require(trace.events(.eventWait).first { $0["ok"]?.uint == 1 })
        #expect(trace.happensBefore(set.id, wait.id))
    }

    @Test("every type times out instead of waiting forever")
    func timeouts() throws {
        let (out, _) = try run(["sync-timeouts"])
        #expect(out.lines == ["semaphore false", "bounded false", "event false", "condition false", "notify unheld notOwner",
                              "barrier brokenBarrier", "parties 0 invalidArgument"])
    }
}
