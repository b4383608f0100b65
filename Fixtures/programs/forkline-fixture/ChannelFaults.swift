// Channel fault scenarios (`forkline-fixture fault-* METHOD [N]`): shared memory on a full
// /dev/shm, queue producers and consumers killed inside their critical sections, barrier parties
// killed while they wait. Each prints one fact a line; the trace is the rest of the oracle.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct QueueVictimArgs: Codable, Sendable { var jobs: JoinableQueue<Int>; var point: Int32; var value: Int }
struct BarrierVictimArgs: Codable, Sendable { var barrier: Barrier; var dieAt: Int32 }

enum ChannelFaults {
    /// Arms a fault point in its own queue code, then puts `value` (a put point), gets one item
    /// (a get point), or gets one and marks it done: it SIGKILLs itself inside that call. Exits 9
    /// if it survives.
    static let queueVictim = EntryPoint<QueueVictimArgs>("fault-queue-victim") { a in
        let point = Queue<Int>.FaultPoint(rawValue: a.point)!
        a.jobs.dieInside(point)
        switch point {
        case .getAfterTake: _ = try a.jobs.get(timeout: .seconds(60))
        case .inTaskDone:
            _ = try a.jobs.get(timeout: .seconds(60))
            try a.jobs.taskDone()
        default: try a.jobs.put(a.value)
        }
        exit(9)
    }

    /// Waits at the barrier (its rounds: one); with `dieAt`, SIGKILLs itself inside
    /// `wait` at that fault point (after its round passed, or while it arrives). Exits 7 on brokenBarrier, 9 if it
    /// survives the hook.
    static let barrierVictim = EntryPoint<BarrierVictimArgs>("fault-barrier-victim") { a in
        if let point = Barrier.FaultPoint(rawValue: a.dieAt) { a.barrier.dieInside(point) }
        do { try a.barrier.wait(timeout: .seconds(60)) } catch let e as ChannelError where e.code == .brokenBarrier { exit(7) }
        if a.dieAt != 0 { exit(9) }
    }

    static let entries: [any AnyEntryPoint] = [queueVictim, barrierVictim]

    static func run(_ scenario: String, _ m: StartMethod, _ count: Int) throws {
        switch scenario {
        case "fault-shm-full": try shmFull()
        case "fault-joinable-put-unpublished": try joinableVictim(m, .putBeforePublish)
        case "fault-joinable-put-published": try joinableVictim(m, .putAfterPublish)
        case "fault-joinable-get-taken": try joinableVictim(m, .getAfterTake)
        case "fault-joinable-in-task-done": try joinableVictim(m, .inTaskDone)
        case "fault-barrier-killed-waiting": try barrierKilledWaiting(m)
        case "fault-barrier-killed-after-release": try barrierKilledAfterRelease(m)
        case "fault-barrier-killed-arriving": try barrierKilledArriving(m)
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }

    /// Describes how creating or attaching ended: "ok", or the error's code, call and errno.
    static func outcome(_ body: () throws(ChannelError) -> SharedMemory) -> (String, SharedMemory?) {
        do {
            let s = try body()
            // Every page is written: a segment without its pages dies here of SIGBUS.
            memset(s.bytes.baseAddress!, 0x5a, s.bytes.count)
            return ("ok", s)
        } catch {
            let named = error.message.contains("ENOSPC") ? " names-ENOSPC" : ""
            return ("\(error.code) \(error.syscall ?? "-") errno=\(error.errno.map(String.init) ?? "nil")\(named)", nil)
        }
    }

    /// Run with a 1 MiB tmpfs over /dev/shm (a private mount namespace): segments that do not fit
    /// fail at creation with ENOSPC, nothing is left behind, and what fits works.
    static func shmFull() throws {
        let (big, _) = outcome { () throws(ChannelError) in try SharedMemory(size: 4 << 20) }
        print("4MiB \(big)")
        let (first, kept) = outcome { () throws(ChannelError) in try SharedMemory(size: 768 << 10) }
        print("768KiB \(first)")
        let (second, _) = outcome { () throws(ChannelError) in try SharedMemory(size: 512 << 10) }
        print("512KiB more \(second)")
        // A segment another program sized with ftruncate alone (no pages): attaching reserves
        // them, or says there is no room, instead of a SIGBUS at the first write.
        let name = "forkline-fault-sparse-\(getpid())"
        let fd = shm_open("/" + name, O_RDWR | O_CREAT | O_EXCL, 0o600)
        _ = ftruncate(fd, 512 << 10)
        close(fd)
        let (attach, _) = outcome { () throws(ChannelError) in try SharedMemory(name: name, create: false) }
        print("attach sparse 512KiB \(attach)")
        shm_unlink("/" + name)
        kept?.close()
        let left = (try? listShm()) ?? []
        print("left in /dev/shm \(left.count)")
        let (after, s) = outcome { () throws(ChannelError) in try SharedMemory(size: 768 << 10) }
        print("768KiB after close \(after)")
        s?.close()
    }

    /// The parent puts 1 and 2 on a joinable queue; a child SIGKILLs itself inside a put of 100
    /// or inside a get; the parent then gets what is left, marks each done and joins (bounded:
    /// a join that would hang prints "join timed out").
    static func joinableVictim(_ m: StartMethod, _ point: Queue<Int>.FaultPoint) throws {
        let jobs = try JoinableQueue<Int>()
        try jobs.put(1)
        try jobs.put(2)
        let victim = try Queues.start(queueVictim, QueueVictimArgs(jobs: jobs, point: point.rawValue, value: 100), m, name: "victim", pass: [jobs])
        print("victim \(try victim.join(timeout: .seconds(60)).map { "\($0)" } ?? "still running")")
        var got: [Int] = []
        while let v = try? jobs.get(timeout: .milliseconds(200)) {
            got.append(v)
            try jobs.taskDone()
        }
        print("got \(got)")
        do {
            print(try jobs.join(timeout: .seconds(20)) ? "joined" : "join timed out")
        } catch {
            print("join \(error.code)\(error.message.contains("seq") ? " names-item" : "")")
        }
        print("unfinished \(jobs.unfinishedTasks) qsize \(jobs.qsize)")
    }

    static func party(_ b: Barrier, _ m: StartMethod, name: String, dieAt: Barrier.FaultPoint? = nil) throws -> ChildProcess {
        try Queues.start(barrierVictim, BarrierVictimArgs(barrier: b, dieAt: dieAt?.rawValue ?? 0), m, name: name, pass: [b])
    }

    /// The parent's own wait: "passed" or the error's code.
    static func parentWait(_ b: Barrier) -> String {
        do { _ = try b.wait(timeout: .seconds(60)); return "passed" } catch { return "\(error.code)" }
    }

    /// Resets the barrier (of 3) and passes a round with two live children.
    static func resetAndPass(_ b: Barrier, _ m: StartMethod) throws {
        b.reset()
        let kids = try (0..<2).map { try party(b, m, name: "after\($0)") }
        print("after reset parent \(parentWait(b))")
        print("after reset children \(try SyncScenarios.statuses(kids))")
    }

    /// Barrier(parties: 3): one party waits and is SIGKILLed there; then a second party and the
    /// parent arrive (three arrivals, one of them dead). Both must get brokenBarrier; after
    /// reset() three live parties pass.
    static func barrierKilledWaiting(_ m: StartMethod) throws {
        let b = try Barrier(parties: 3)
        let victim = try party(b, m, name: "victim")
        SyncScenarios.awaitWaiting(b, 1)
        try victim.kill()
        print("victim \(try SyncScenarios.joined(victim))")
        let other = try party(b, m, name: "other")
        SyncScenarios.awaitWaiting(b, 2)
        print("parent \(parentWait(b))")
        print("other \(try SyncScenarios.joined(other))")
        print("later \(parentWait(b))")
        try resetAndPass(b, m)
    }

    /// Barrier(parties: 3): a party SIGKILLs itself while it arrives, holding the barrier's
    /// monitor; the barrier is broken for the two parties that come after it.
    static func barrierKilledArriving(_ m: StartMethod) throws {
        let b = try Barrier(parties: 3)
        let victim = try party(b, m, name: "victim", dieAt: .whileArriving)
        print("victim \(try SyncScenarios.joined(victim))")
        print("broken \(b.isBroken)")
        let other = try party(b, m, name: "other")
        print("other \(try SyncScenarios.joined(other))")
        print("parent \(parentWait(b))")
        try resetAndPass(b, m)
    }

    /// Barrier(parties: 2): a party SIGKILLs itself inside wait after the round passed, before
    /// it left. The round stands, and the barrier stays usable for rounds in either half of its
    /// party slots (the dead party's slot is taken over).
    static func barrierKilledAfterRelease(_ m: StartMethod) throws {
        let b = try Barrier(parties: 2)
        let victim = try party(b, m, name: "victim", dieAt: .afterRelease)
        SyncScenarios.awaitWaiting(b, 1)
        print("round 0 parent \(parentWait(b))")
        print("victim \(try SyncScenarios.joined(victim))")
        for round in 1...3 {
            let kid = try party(b, m, name: "next\(round)")
            SyncScenarios.awaitWaiting(b, 1)
            print("round \(round) parent \(parentWait(b)) child \(try SyncScenarios.joined(kid))")
        }
        print("broken \(b.isBroken)")
    }

    static func listShm() throws -> [String] {
        guard let d = opendir("/dev/shm") else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }
}
