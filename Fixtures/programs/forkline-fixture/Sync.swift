// Scenarios for the synchronisation types (RLock, Semaphore, BoundedSemaphore, Event,
// Condition, Barrier) across processes of any start method. Children report through their exit
// status (0 fine, 7 broken barrier, 8 timed out, 9 wrong); the parent prints one fact a line.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// Processes inside the semaphore now, and the most ever seen.
struct Occupancy: BitwiseCopyable, Sendable {
    var inside = 0
    var peak = 0
}

struct SemArgs: Codable, Sendable { var sem: Forkline.Semaphore; var occupancy: SharedValue<Occupancy>; var times: Int }
struct BoundedArgs: Codable, Sendable { var sem: BoundedSemaphore }
struct EventArgs: Codable, Sendable { var event: Event; var ready: Forkline.Semaphore; var timeoutMs: Int }
struct ConsumerArgs: Codable, Sendable { var items: SharedValue<Int>; var cond: Condition; var take: Int; var nested = false }
struct BarrierArgs: Codable, Sendable { var barrier: Barrier; var rounds: Int; var timeoutMs: Int }
struct RLockArgs: Codable, Sendable { var lock: RLock; var ready: Forkline.Semaphore; var hold: Bool }
struct AsyncArgs: Codable, Sendable { var sem: Forkline.Semaphore; var event: Event; var barrier: Barrier }

/// The other side of `sync-async`: a release, a set, a barrier.
let asyncPeer = EntryPoint<AsyncArgs>("sync-async-peer") { a in
    try a.sem.release()
    a.event.set()
    do { try a.barrier.wait(timeout: .seconds(60)) } catch let e as ChannelError where e.code == .brokenBarrier { exit(7) }
}

let semWorker = EntryPoint<SemArgs>("sync-sem-worker") { a in
    for _ in 0..<a.times {
        guard a.sem.acquire(timeout: .seconds(60)) else { exit(8) }
        a.occupancy.withLock { o in
            o.inside += 1
            o.peak = max(o.peak, o.inside)
        }
        usleep(100)
        a.occupancy.withLock { $0.inside -= 1 }
        try a.sem.release()
    }
}

let boundedWorker = EntryPoint<BoundedArgs>("sync-bounded-worker") { a in
    guard a.sem.acquire(timeout: .seconds(60)) else { exit(8) }
    try a.sem.release()
    do { try a.sem.release() } catch let e as ChannelError where e.code == .overReleased { exit(0) }
    exit(9)
}

let eventWaiter = EntryPoint<EventArgs>("sync-event-waiter") { a in
    try a.ready.release()
    exit(a.event.wait(timeout: .milliseconds(a.timeoutMs)) ? 0 : 8)
}

let consumer = EntryPoint<ConsumerArgs>("sync-consumer") { a in
    for _ in 0..<a.take {
        // With an RLock, hold it two levels deep: `wait` releases both and takes both back.
        if a.nested { a.cond.acquire() }
        defer { if a.nested { try? a.cond.release() } }
        let got = try a.cond.withLock { _ in
            let ok = try a.cond.wait(for: { a.items.withoutLocking { $0 > 0 } }, timeout: .seconds(60))
            if ok { a.items.withoutLocking { $0 -= 1 } }
            return ok
        }
        if !got { exit(8) }
    }
}

let barrierParty = EntryPoint<BarrierArgs>("sync-barrier-party") { a in
    for _ in 0..<a.rounds {
        do { try a.barrier.wait(timeout: .milliseconds(a.timeoutMs)) } catch let e as ChannelError where e.code == .brokenBarrier { exit(7) }
    }
}

let rlockUser = EntryPoint<RLockArgs>("sync-rlock-user") { a in
    if a.hold {
        // Holds the lock two levels deep, says so, and waits to be killed.
        a.lock.acquire()
        a.lock.acquire()
        try a.ready.release()
        sleep(600)
    }
    // Times out while the parent holds it, then takes it re-entrantly once it is free.
    if a.lock.acquire(timeout: .milliseconds(50)) != .timedOut { exit(9) }
    try a.ready.release()
    guard a.lock.acquire(timeout: .seconds(60)) == .acquired, a.lock.acquire(timeout: .seconds(1)) == .acquired else { exit(8) }
    try a.lock.release()
    try a.lock.release()
    do { try a.lock.release() } catch let e as ChannelError where e.code == .notOwner { exit(0) }
    exit(9)
}

enum SyncScenarios {
    static let entries: [any AnyEntryPoint] = [semWorker, boundedWorker, eventWaiter, consumer, barrierParty, rlockUser, asyncPeer]

    /// The async twins, awaited from the parent's async code while a child of method `m` acts.
    static func asyncWaits(method m: StartMethod) async throws {
        let sem = try Forkline.Semaphore(value: 0), event = try Event(), barrier = try Barrier(parties: 2)
        let kid = try start(asyncPeer, AsyncArgs(sem: sem, event: event, barrier: barrier), m, pass: [sem, event, barrier])
        print("semaphore \(try await sem.acquire(timeout: .seconds(60)))")
        print("event \(try await event.wait(timeout: .seconds(60)))")
        print("barrier index \(try await barrier.wait(timeout: .seconds(60)))")
        print("child \(try await kid.join())")
        print("timeout \(try await Forkline.Semaphore(value: 0).acquire(timeout: .milliseconds(20)))")
        do { try await Barrier(parties: 2).wait(timeout: .milliseconds(20)) } catch { print("barrier timeout \(error.code)") }
    }
    static let names: Set<String> = ["sem-capacity", "bounded-over-release", "event-wakes", "condition-pc", "condition-pc-rlock", "barrier-rounds",
                                     "barrier-abort", "barrier-timeout", "barrier-party-killed", "rlock", "rlock-holder-killed",
                                     "sync-timeouts"]

    static func start<A>(_ entry: EntryPoint<A>, _ args: A, _ m: StartMethod, name: String? = nil, pass: [any PassableToChild]) throws -> ChildProcess {
        var o = ChildOptions(method: m)
        o.name = name
        for p in pass { o.pass(p) }
        let c = try ChildProcess(entry: entry, arguments: args, options: o)
        try c.start()
        return c
    }

    static func statuses(_ children: [ChildProcess]) throws -> String {
        try children.map { try joined($0) }.joined(separator: " ")
    }

    static func joined(_ c: ChildProcess) throws -> String {
        try c.join(timeout: .seconds(120)).map { "\($0)" } ?? "still running"
    }

    /// Waits (polling, bounded) until `n` parties wait at the barrier.
    static func awaitWaiting(_ b: Barrier, _ n: Int) {
        for _ in 0..<20_000 where b.waiting < n { usleep(1000) }
    }

    static func run(_ scenario: String, method m: StartMethod, count n: Int) throws {
        switch scenario {
        case "sem-capacity":
            // n processes, 100 holds each, through a semaphore of 2.
            let sem = try Forkline.Semaphore(value: 2), occ = try SharedValue(Occupancy())
            let kids = try (0..<n).map { _ in try start(semWorker, SemArgs(sem: sem, occupancy: occ, times: 100), m, pass: [sem, occ]) }
            print("children \(try statuses(kids))")
            print("peak \(occ.load().peak) value \(sem.value)")
        case "bounded-over-release":
            let sem = try BoundedSemaphore(value: 1)
            print("child \(try statuses([try start(boundedWorker, BoundedArgs(sem: sem), m, pass: [sem])]))")
            do { try sem.release() } catch { print("parent \(error.code)") }
            print("value \(sem.value)")
        case "event-wakes":
            let event = try Event(), ready = try Forkline.Semaphore(value: 0)
            let kids = try (0..<n).map { _ in try start(eventWaiter, EventArgs(event: event, ready: ready, timeoutMs: 60_000), m, pass: [event, ready]) }
            for _ in 0..<n where !ready.acquire(timeout: .seconds(60)) { print("a child never got ready") }
            print("set before: \(event.isSet)")
            event.set()
            print("children \(try statuses(kids))")
        case "condition-pc", "condition-pc-rlock":
            // The parent produces n*20 items one at a time; n consumers take 20 each. The count
            // is guarded by the condition's lock: the value's own Lock, or a new RLock.
            let items = try SharedValue(0)
            let rlock = scenario == "condition-pc-rlock"
            let cond = rlock ? try Condition() : try Condition(lock: items.lock)
            let kids = try (0..<n).map { _ in
                try start(consumer, ConsumerArgs(items: items, cond: cond, take: 20, nested: rlock), m, pass: [items, cond])
            }
            for _ in 0..<(n * 20) {
                try cond.withLock { _ in
                    items.withoutLocking { $0 += 1 }
                    try cond.notify()
                }
            }
            print("children \(try statuses(kids))")
            print("left \(cond.withLock { _ in items.withoutLocking { $0 } })")
        case "barrier-rounds":
            let b = try Barrier(parties: n)
            let kids = try (0..<n).map { _ in try start(barrierParty, BarrierArgs(barrier: b, rounds: 5, timeoutMs: 60_000), m, pass: [b]) }
            print("children \(try statuses(kids))")
            print("broken \(b.isBroken)")
        case "barrier-abort", "barrier-timeout", "barrier-party-killed":
            // n children wait at a barrier of n + 1 parties (n + 2 when the parent times out
            // waiting itself, so it is not the last to arrive); the parent breaks it.
            let b = try Barrier(parties: scenario == "barrier-timeout" ? n + 2 : n + 1)
            let kids = try (0..<n).map { _ in try start(barrierParty, BarrierArgs(barrier: b, rounds: 1, timeoutMs: 60_000), m, pass: [b]) }
            var victim: ChildProcess?
            if scenario == "barrier-party-killed" {
                // One more party never arrives: it is killed first. The parent sees it die and
                // aborts the barrier (a party killed before arriving cannot be detected otherwise).
                victim = try start(sleeper, Number(n: 600), m, name: "victim", pass: [])
            }
            awaitWaiting(b, n)
            print("waiting \(b.waiting)")
            switch scenario {
            case "barrier-abort": b.abort()
            case "barrier-timeout":
                do { try b.wait(timeout: .milliseconds(50)) } catch { print("parent \(error.code)") }
            default:
                try victim!.kill()
                let st = try victim!.join(timeout: .seconds(60))
                print("victim \(st.map { "\($0)" } ?? "still running")")
                if st != .exited(0) { b.abort() }
            }
            print("children \(try statuses(kids))")
            do { try b.wait(timeout: .seconds(1)) } catch { print("later \(error.code)") }
            b.reset()
            print("after reset broken \(b.isBroken)")
        case "rlock":
            let lock = try RLock(), ready = try Forkline.Semaphore(value: 0)
            lock.acquire()
            lock.acquire()
            lock.acquire()
            let kid = try start(rlockUser, RLockArgs(lock: lock, ready: ready, hold: false), m, pass: [lock, ready])
            // The child timed out while this process held the lock.
            if !ready.acquire(timeout: .seconds(60)) { print("the child never timed out") }
            for _ in 0..<3 { try lock.release() }
            do { try lock.release() } catch { print("extra release \(error.code)") }
            print("child \(try statuses([kid]))")
        case "rlock-holder-killed":
            let lock = try RLock(), ready = try Forkline.Semaphore(value: 0)
            let kid = try start(rlockUser, RLockArgs(lock: lock, ready: ready, hold: true), m, name: "holder", pass: [lock, ready])
            if !ready.acquire(timeout: .seconds(60)) { print("the holder never got ready") }
            print("while held: \(lock.acquire(timeout: .milliseconds(50)))")
            try kid.kill()
            print("holder \(try joined(kid))")
            print("after the kill: \(lock.acquire(timeout: .seconds(5)))")
            print("nested: \(lock.acquire(timeout: .seconds(1)))")
            try lock.release()
            try lock.release()
            print("again: \(lock.acquire(timeout: .seconds(1)))")
            try lock.release()
        case "sync-timeouts":
            print("semaphore \(try Forkline.Semaphore(value: 0).acquire(timeout: .milliseconds(20)))")
            let bounded = try BoundedSemaphore(value: 1)
            bounded.acquire()
            print("bounded \(bounded.acquire(timeout: .milliseconds(20)))")
            print("event \(try Event().wait(timeout: .milliseconds(20)))")
            let cond = try Condition()
            print("condition \(try cond.withLock { _ in try cond.wait(timeout: .milliseconds(20)) })")
            do { try cond.notify() } catch { print("notify unheld \(error.code)") }
            do { try Barrier(parties: 2).wait(timeout: .milliseconds(20)) } catch { print("barrier \(error.code)") }
            do { _ = try Barrier(parties: 0) } catch { print("parties 0 \(error.code)") }
        default:
            break
        }
    }
}
