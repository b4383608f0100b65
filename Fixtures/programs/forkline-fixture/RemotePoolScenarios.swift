// Pools with remote workers (issue 17 item 2), without Slurm: the `.processes` launcher starts
// each worker as a plain local process that connects back over 127.0.0.1 (real TCP), passes
// the key handshake and gets its tasks and sends its replies over that connection.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum RemotePoolScenarios {
    static let remote = RemoteWorkers(launcher: .processes)

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        switch scenario {
        case "pool-remote-map": try await map(m)
        case "pool-remote-crash": try await crash(m)
        case "pool-remote-timeout": try await timeout(m)
        case "pool-remote-max-tasks": try await maxTasks(m)
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }

    /// Ordered map (one task per item, and automatic chunks), imap, and where the tasks ran.
    static func map(_ m: StartMethod) async throws {
        try await withPool(remote: remote, workers: 3, method: m) { pool in
            let inputs = Array(0..<200)
            print("map \(try await pool.map(poolSquare, inputs, chunksize: 1) == inputs.map { $0 * $0 })")
            print("chunks \(try await pool.map(poolSquare, Array(0..<2000)) == (0..<2000).map { $0 * $0 })")
            var got: [Int] = []
            for try await v in try pool.imap(poolSquare, Array(0..<50)) { got.append(v) }
            print("imap \(got == (0..<50).map { $0 * $0 })")
            let ranIn = Set(try await pool.map(poolPid, Array(0..<60), chunksize: 1))
            let local = Set(pool.workerPIDs + [getpid()])
            print("ran in other processes than the pool's own \(ranIn.isDisjoint(with: local))")
            print("remote workers used \(ranIn.count <= 3 && !ranIn.isEmpty)")
        }
    }

    /// A remote worker SIGKILLed mid-map fails only its task, naming its host; a replacement
    /// is launched and the rest succeed.
    static func crash(_ m: StartMethod) async throws {
        try await withPool(remote: remote, workers: 2, method: m) { pool in
            let inputs = [0, 5, 1, 6, 7, 8]
            var handles: [PoolTask<Int>] = []
            for x in inputs { handles.append(try pool.applyAsync(poolDie, x)) }
            for (x, h) in zip(inputs, handles) {
                do { print("\(x) ok \(try await h.value)") } catch let e as PoolError {
                    let named = e.workerHost == Syscall_hostName() && e.message.contains("on host \(Syscall_hostName())")
                    print("\(x) \(e.code) host-named=\(named)")
                }
            }
            print("after \(try await pool.map(poolSquare, Array(0..<20), chunksize: 1) == (0..<20).map { $0 * $0 })")
        }
    }

    /// A remote task past its timeout: its worker is killed and replaced; the others finish.
    static func timeout(_ m: StartMethod) async throws {
        try await withPool(remote: remote, workers: 2, method: m, timeout: .seconds(2)) { pool in
            async let slow = pool.apply(poolSleepMs, 60_000)
            let fast = try await pool.map(poolSleepMs, [1, 2, 3, 4], chunksize: 1)
            do { print("slow \(try await slow)") } catch let e as PoolError { print("slow \(e.code)") }
            print("fast \(fast)")
            print("after \(try await pool.apply(poolSquare, 5))")
        }
    }

    /// maxTasksPerChild: each remote worker runs at most 2 tasks, then a new one is launched.
    static func maxTasks(_ m: StartMethod) async throws {
        let pids = try await withPool(remote: remote, workers: 2, method: m, maxTasksPerChild: 2) { pool in
            try await pool.map(poolPid, Array(0..<10), chunksize: 1)
        }
        let perPid = Dictionary(grouping: pids, by: { $0 }).mapValues(\.count)
        print("workers \(perPid.count)")
        print("max per worker \(perPid.values.max() ?? 0)")
    }

    static func Syscall_hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        _ = gethostname(&buf, 255)
        return String(cString: buf)
    }
}
