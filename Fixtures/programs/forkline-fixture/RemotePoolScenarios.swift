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
        case "pool-remote-bad-launcher": try await badLaunchers(m)
        case "pool-remote-speed": try await speed(m)
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
        if getenv(Tracer.environmentVariable) != nil { print("remote workers left \(remoteWorkersLeft())") }
    }

    /// The remote workers of this run (from the trace: processes whose parent is a pool
    /// worker process, the launcher's children) still running 10 s after the pool ended (a
    /// zombie counts as ended): each must end with its pool, even one killed mid-task.
    static func remoteWorkersLeft() -> Int {
        guard let dir = getenv(Tracer.environmentVariable).map({ String(cString: $0) }), let trace = try? Trace.load(path: dir) else { return -1 }
        let locals = Set(trace.processes.filter { $0.name.hasPrefix("PoolWorker-") }.map(\.header.pid))
        let remotes = trace.processes.filter { locals.contains($0.header.ppid) }.map(\.header.pid)
        func running(_ pid: Int32) -> Bool {
            guard kill(pid, 0) == 0 else { return false }
            guard let f = fopen("/proc/\(pid)/stat", "r") else { return true }
            defer { fclose(f) }
            var line = [CChar](repeating: 0, count: 1024)
            guard fgets(&line, Int32(line.count), f) != nil else { return true }
            let stat = String(cString: line)
            guard let close = stat.lastIndex(of: ")") else { return true }
            return stat[stat.index(close, offsetBy: 2)] != "Z"
        }
        var left = remotes.filter(running)
        for _ in 0..<100 where !left.isEmpty {
            usleep(100_000)
            left = left.filter(running)
        }
        return left.count
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
                    writeStderrLine("message: \(e.message)")
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
        // Ten tasks, two at most per worker: five workers at least (a worker may run one only).
        print("workers at least 5 \(perPid.count >= 5)")
        print("max per worker \(perPid.values.max() ?? 0)")
    }

    /// Tiny tasks, one per message and in automatic chunks, on a local and a remote pool of two
    /// workers in the same run (a measurement, printed; not asserted).
    static func speed(_ m: StartMethod) async throws {
        let n = 4000
        let inputs = Array(0..<n)
        func time(_ pool: Pool, _ chunksize: Int?) async throws -> Double {
            _ = try await pool.map(poolSquare, Array(0..<200), chunksize: 1)  // warm
            let t0 = ContinuousClock.now
            _ = try await pool.map(poolSquare, inputs, chunksize: chunksize)
            let d = (ContinuousClock.now - t0).components
            return (Double(d.seconds) * 1e6 + Double(d.attoseconds) / 1e12) / Double(n)
        }
        for round in 0..<2 {
            let local = try await withPool(workers: 2, method: m) { p in (try await time(p, 1), try await time(p, nil)) }
            let remote = try await withPool(remote: remote, workers: 2, method: m) { p in (try await time(p, 1), try await time(p, nil)) }
            print("round \(round): us/task chunksize 1: local \(local.0) remote \(remote.0); automatic chunks: local \(local.1) remote \(remote.1)")
        }
    }

    /// A launcher that cannot run, and one whose worker never connects back: the pool's tasks
    /// fail with workerStartFailed saying why, within the connect timeout; nothing hangs.
    static func badLaunchers(_ m: StartMethod) async throws {
        let cases: [(String, WorkerLauncher, String)] = [
            ("missing-launcher", .command(["/no/such/launcher"]), "cannot run /no/such/launcher"),
            ("never-connects", .command(["/bin/sh", "-c", "exec sleep 600"]), "did not connect back"),
            // A launcher that fails (srun on a dead node) ends the wait at once, with its status,
            // not after the (here long) connect timeout.
            ("launcher-fails", .command(["/bin/sh", "-c", "exit 3"]), "exited with status 3 before its worker connected"),
        ]
        for (name, launcher, expected) in cases {
            let r = RemoteWorkers(launcher: launcher, connectTimeout: .seconds(name == "launcher-fails" ? 600 : 2))
            do {
                let v = try await withPool(remote: r, workers: 1, method: m) { pool in try await pool.apply(poolSquare, 3) }
                print("\(name) ran \(v)")
            } catch let e as PoolError {
                print("\(name) \(e.code) says-why=\(e.message.contains(expected))")
                if !e.message.contains(expected) { writeStderrLine(e.message) }
            }
        }
    }

    static func Syscall_hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        _ = gethostname(&buf, 255)
        return String(cString: buf)
    }
}
