import ArgumentParser
import Forkline
import ForklineService

#if canImport(Glibc)
import Glibc
#endif

/// Creates the file `path`, then sleeps `ms` milliseconds: the parent knows the task began.
struct Begun: Codable, Sendable { var path: String; var ms: Int }
let sleepAfterBegun = PoolFunction<Begun, Int>("service-sleep-after-begun") { b in
    close(open(b.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600))
    usleep(UInt32(b.ms) * 1000)
    return b.ms
}
/// An initializer that exits 3: the pool's workers never become ready.
let failingInit = EntryPoint<Int>("service-failing-init") { code in exit(Int32(code)) }

/// Waits (10 ms steps, up to 60 s) until `path` exists.
func waitForFile(_ path: String) -> Bool {
    for _ in 0..<6000 {
        if access(path, F_OK) == 0 { return true }
        usleep(10_000)
    }
    return false
}

/// `waitUntilReady`: the pids before and after, and a pool whose workers cannot start.
struct Ready: AsyncParsableCommand {
    @Option var method: StartMethod = .forkserver

    func run() async throws {
        let pool = try Pool(workers: 2, method: method)
        try await pool.waitUntilReady()
        let pids = pool.workerPIDs
        say("after \(pids.count) alive=\(pids.allSatisfy { $0 > 0 && kill($0, 0) == 0 })")
        try await pool.waitUntilReady()  // again: at once
        say("again ok")
        await pool.join()
        let broken = try Pool(workers: 1, method: method, initializer: PoolInitializer(failingInit, arguments: 3))
        do {
            try await broken.waitUntilReady()
            say("broken ready?")
        } catch let e as PoolError { say("broken \(e.code)") }
        await broken.join()
    }
}

/// `maxPending` 2 on one worker: what a third call does under each policy.
struct Backpressure: AsyncParsableCommand {
    @Option var policy = "throw"

    func run() async throws {
        let whenFull: PoolBackpressure = policy == "wait" ? .wait : .throw
        let pool = try Pool(workers: 1, maxPending: 2, whenFull: whenFull)
        try await pool.waitUntilReady()
        let first = try (0..<2).map { _ in try pool.applyAsync(sleepMs, 400) }
        // A synchronous call cannot wait: it throws under both policies.
        do { _ = try pool.applyAsync(sleepMs, 1) } catch { say("applyAsync \(error.code)") }
        if whenFull == .throw {
            do { _ = try await pool.apply(sleepMs, 1) } catch let e as PoolError { say("apply \(e.code)") }
            do { _ = try await pool.map(sleepMs, [1, 2], chunksize: 1) } catch let e as PoolError { say("map \(e.code)") }
            for t in first { _ = try await t.value }
            say("after room \(try await pool.apply(sleepMs, 1))")
        } else {
            // A waiter that is cancelled leaves the line without submitting anything.
            let cancelled = Task { try await pool.apply(sleepMs, 2) }
            usleep(50_000)
            cancelled.cancel()
            do { _ = try await cancelled.value; say("cancelled waiter ran?") } catch { say("cancelled waiter \(type(of: error))") }
            // This one waits for room, then runs: after the first two were delivered.
            let third = try await pool.apply(sleepMs, 3)
            say("third \(third) first ready=\(first.allSatisfy(\.isReady))")
            say("map \(try await pool.map(sleepMs, [1, 1, 1, 1], chunksize: 1))")  // 4 tasks > maxPending: runs alone
        }
        await pool.join()
    }
}

/// A running 20 s (kill) or 1.5 s (abandon) task whose caller is cancelled, then a tiny task.
struct Cancel: AsyncParsableCommand {
    @Option var policy = "abandon"

    func run() async throws {
        let kill = policy == "kill"
        let pool = try Pool(workers: 1, cancellation: kill ? .killWorker : .abandon)
        let path = "/tmp/forkline-cancel-\(getpid())"
        unlink(path)
        defer { unlink(path) }
        let long = Task { try await pool.apply(sleepAfterBegun, Begun(path: path, ms: kill ? 20_000 : 1_500)) }
        guard waitForFile(path) else {
            say("the long task never began")
            return
        }
        long.cancel()
        do { _ = try await long.value; say("long finished?") } catch { say("long \(type(of: error))") }
        say("tiny \(try await pool.apply(sleepMs, 1))")
        await pool.join()
    }
}
