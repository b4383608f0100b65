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

enum TaskRingScenarios {
    static let entries: [any AnyEntryPoint] = [taskringLength]

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
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }
}
