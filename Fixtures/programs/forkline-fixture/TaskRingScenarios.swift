// Pool scenarios for the task ring (issue 14: the pool's dispatch rows): a busy worker takes its
// tasks from shared memory without a read system call, a task too large for the ring arrives in
// its place, and a worker asleep on an empty ring wakes for the next task and ends with its pool.
// Each prints facts, one per line.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// The length of the input and its first and last byte: what a large input arrived as.
let taskringLength = PoolFunction<[UInt8], [Int]>("taskring-length") { b in [b.count, Int(b.first ?? 0), Int(b.last ?? 0)] }

/// A light task: spins for `us` microseconds, then returns `us` (the service row's kind of task).
let taskringSpinUs = PoolFunction<Int, Int>("taskring-spin-us") { us in
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    let end = Int(t.tv_sec) * 1_000_000_000 + Int(t.tv_nsec) + us * 1_000
    repeat { clock_gettime(CLOCK_MONOTONIC, &t) } while Int(t.tv_sec) * 1_000_000_000 + Int(t.tv_nsec) < end
    return us
}

/// Creates the file at `path` (it has begun), then sleeps 2 s; returns 1.
let taskringMarkSleep = PoolFunction<String, Int>("taskring-mark-sleep") { path in
    close(open(path, O_CREAT | O_WRONLY, 0o600))
    usleep(2_000_000)
    return 1
}

enum TaskRingScenarios {
    static let entries: [any AnyEntryPoint] = [taskringLength, taskringSpinUs, taskringMarkSleep]

    /// The read-type system calls process `pid` has made (`syscr` in /proc/PID/io): a worker
    /// reading its tasks from its connection makes at least one per batch.
    static func readCalls(_ pid: Int32) -> Int? {
        guard let f = fopen("/proc/\(pid)/io", "r") else { return nil }
        defer { fclose(f) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, 256, f) != nil {
            let s = String(decoding: line.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if s.hasPrefix("syscr:") { return Int(String(s.dropFirst(6).filter { $0.isNumber })) }
        }
        return nil
    }

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        switch scenario {
        case "taskring-reads":
            // One worker, 4,000 tiny tasks at chunksize 1: how many reads it made meanwhile.
            try await withPool(workers: 1, method: m) { pool in
                _ = try await pool.map(poolSquare, Array(0..<500), chunksize: 1)  // warm-up
                guard let pid = pool.workerPIDs.first, let before = readCalls(pid) else {
                    print("no /proc/PID/io")
                    return
                }
                let r = try await pool.map(poolSquare, Array(0..<4_000), chunksize: 1)
                guard let after = readCalls(pid) else { return print("no /proc/PID/io") }
                print(r == (0..<4_000).map { $0 * $0 } ? "results ok" : "results wrong")
                print("reads \(after - before)")
            }
        case "taskring-large":
            // Inputs of 1.2 MB (larger than the ring takes) among small ones, on 2 workers, in
            // order: each arrives whole, in its place.
            let sizes = [10, 1_200_000, 3, 1_200_000, 1_200_000, 1, 200 << 10, 5]
            let inputs = sizes.enumerated().map { i, n in [UInt8](repeating: UInt8(i + 1), count: n) }
            try await withPool(workers: 2, method: m) { pool in
                let r = try await pool.map(taskringLength, inputs, chunksize: 1)
                let want = sizes.enumerated().map { i, n in [n, i + 1, i + 1] }
                print(r == want ? "large ok" : "large wrong \(r)")
            }
        case "taskring-idle":
            // A worker idle on its empty ring for longer than it sleeps between looks at its
            // connection (100 ms) still takes the next task at once; the pool then closes.
            let pool = try Pool(workers: 1, method: m)
            print("first \(try await pool.apply(poolSquare, 3))")
            usleep(350_000)
            print("second \(try await pool.apply(poolSquare, 4))")
            let pid = pool.workerPIDs.first ?? 0
            pool.close()
            await pool.join()
            print(kill(pid, 0) != 0 ? "worker gone" : "worker alive")
        case "taskring-untaken":
            // A worker stopped (SIGSTOP) while its next task waits in its ring, then SIGKILLed:
            // it never took that task, so the task runs on the replacement instead of failing.
            let pool = try Pool(workers: 1, method: m)
            print("first \(try await pool.apply(poolSquare, 3))")
            let pid = pool.workerPIDs.first ?? 0
            kill(pid, SIGSTOP)
            let task = try pool.applyAsync(poolSquare, 5)
            usleep(300_000)  // the driver has placed it in the ring by now
            kill(pid, SIGKILL)
            do { print("untaken \(try await task.value)") } catch let e as PoolError { print("untaken failed \(e.code)") }
            print("after \(try await pool.apply(poolSquare, 6))")
            pool.close()
            await pool.join()
        case "taskring-held":
            // A worker SIGKILLed while it runs one task and holds the next in its ring (light
            // tasks are held two or more deep): the running one fails, the held one runs on the
            // replacement, once.
            let pool = try Pool(workers: 1, method: m)
            _ = try await pool.map(poolSquare, Array(0..<50), chunksize: 1)  // light tasks: held deep
            let mark = "/tmp/forkline-taskring-held-\(getpid())"
            unlink(mark)
            let running = try pool.applyAsync(taskringMarkSleep, mark)
            let held = try pool.applyAsync(poolSquare, 5)
            // The worker has begun the first (its file is there); the second waits in its ring.
            for _ in 0..<1_000 where access(mark, F_OK) != 0 { usleep(10_000) }
            unlink(mark)
            usleep(100_000)
            let pid = pool.workerPIDs.first ?? 0
            kill(pid, SIGKILL)
            do { print("running \(try await running.value)") } catch let e as PoolError { print("running \(e.code)") }
            do { print("held \(try await held.value)") } catch let e as PoolError { print("held failed \(e.code)") }
            print("after \(try await pool.apply(poolSquare, 6))")
            pool.close()
            await pool.join()
        case "taskring-callers":
            // 16 concurrent callers of 0.2 ms tasks on 2 workers (the service row's load), workers
            // SIGKILLed 3 times meanwhile: every call ends once, with its value or workerDied.
            let pool = try Pool(workers: 2, method: m)
            try await pool.waitUntilReady()
            let calls = 16, each = 40
            let killer = Task.detached {
                for _ in 0..<3 {
                    try? await Task.sleep(for: .milliseconds(60))
                    pool.killWorker(0)
                }
            }
            let counts = try await withThrowingTaskGroup(of: (Int, Int, Int).self) { g in
                for c in 0..<calls {
                    g.addTask {
                        var ok = 0, died = 0, other = 0
                        for k in 0..<each {
                            let us = 150 + (c * each + k) % 100
                            do {
                                if try await pool.apply(taskringSpinUs, us) == us { ok += 1 } else { other += 1 }
                            } catch let e as PoolError where e.code == .workerDied { died += 1 } catch { other += 1 }
                        }
                        return (ok, died, other)
                    }
                }
                return try await g.reduce(into: (0, 0, 0)) { $0 = ($0.0 + $1.0, $0.1 + $1.1, $0.2 + $1.2) }
            }
            await killer.value
            pool.close()
            await pool.join()
            print("accounted \(counts.0 + counts.1 + counts.2) of \(calls * each)")
            print("died<=3 \(counts.1 <= 3) other \(counts.2)")
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }
}
