// Cluster scenarios (issue 17 items 3-5): a driver that listens in the head namespace of the
// local Slurm cluster (Tools/cluster), starts workers on the nodes with `srun`, and trades
// messages with them over authenticated TCP connections, so the hosts' traces hold cross-host
// send/recv pairs. Prints one line per fact; the merged trace is the rest of the oracle.
//
//   cluster-driver METHOD NODES DIR HOST   listen on HOST, srun NODES workers, serve them
//   cluster-worker METHOD 0 ADDRESS KEYFILE connect to ADDRESS with the key in KEYFILE
//   cluster-pool-map METHOD 0 HOST         (inside `salloc -N3`) a pool of 3 Slurm workers: map
//   cluster-pool-kill METHOD 0 HOST        (inside `salloc -N3`) a worker SIGKILLed mid-map
import Forkline

/// The host a task ran on, after 20 ms (so every worker of a pool gets some of a map's tasks).
let clusterHost = PoolFunction<Int, String>("cluster-host") { _ in
    usleep(20_000)
    return Tracer.hostName
}

#if canImport(Glibc)
import Glibc
#endif

enum ClusterScenarios {
    /// Tasks each worker is sent.
    static let tasks = 4

    static let entries: [any AnyEntryPoint] = [clusterHost]

    static func run(_ scenario: String, _ m: StartMethod, args: [String]) async throws {
        switch scenario {
        case "cluster-driver": try driver(nodes: Int(args[2]) ?? 3, dir: args[3], host: args[4])
        case "cluster-worker": try worker(address: try NetworkAddress(parsing: args[3]), keyFile: args[4])
        case "cluster-wrong-key": try wrongKey(dir: args[3], host: args[4])
        case "cluster-pool-map": try await poolMap(m, host: args[3])
        case "cluster-pool-kill": try await poolKill(m, host: args[3])
        case "cluster-pool-node-dies": try await poolNodeDies(m, host: args[3], script: args[4], action: "kill-node")
        case "cluster-pool-node-cut": try await poolNodeDies(m, host: args[3], script: args[4], action: "cut-node")
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }

    /// A worker on a node: says which host it is, squares every number until it gets -1.
    static func worker(address: NetworkAddress, keyFile: String) throws {
        let key = try AuthKey.read(from: keyFile)
        let conn: Connection
        do { conn = try Client.connect(to: address, key: key, timeout: .seconds(60)) } catch {
            writeStderrLine("worker on \(Tracer.hostName): \(error.code)")
            exit(1)
        }
        try conn.send(Tracer.hostName)
        while let n = try conn.receive(Int.self), n >= 0 { try conn.send(n * n) }
        conn.close()
    }

    /// The driver: writes a fresh key (0600) into `dir`, listens on `host`, starts `nodes`
    /// workers with `srun -N nodes`, gives each worker `tasks` numbers and checks the squares.
    static func driver(nodes: Int, dir: String, host: String) throws {
        let keyFile = dir + "/key"
        let key = AuthKey.random()
        try key.write(to: keyFile)
        let listener = try Listener(NetworkAddress(host: host, port: 0), key: key, handshakeTimeout: .seconds(30))
        defer { listener.close() }
        let srun = try spawnSrun(["srun", "-N", "\(nodes)", "--ntasks-per-node=1", selfPath(), "cluster-worker", "spawn", "0",
                                  listener.address.description, keyFile])
        var hosts: [String] = []
        var ok = true
        for _ in 0..<nodes {
            let conn = try listener.accept(timeout: .seconds(120))
            let name = try conn.receive(String.self) ?? "<eof>"
            hosts.append(name)
            for n in 1...tasks {
                try conn.send(n)
                if try conn.receive(Int.self) != n * n { ok = false }
            }
            try conn.send(-1)
            if try conn.receive(Int.self) != nil { ok = false }  // the worker closes
            conn.close()
        }
        print("hosts \(hosts.sorted().joined(separator: " "))")
        print(ok ? "answers ok" : "answers wrong")
        var status: Int32 = 0
        while waitpid(srun, &status, 0) < 0 && errno == EINTR {}
        print("srun \(status == 0 ? "exited(0)" : "status \(status)")")
    }

    /// A worker on a node holding another key is refused at both ends (no accepted connection,
    /// no frame), and the next worker, holding the right key, is served.
    static func wrongKey(dir: String, host: String) throws {
        let key = AuthKey.random(), wrong = AuthKey.random()
        try key.write(to: dir + "/key")
        try wrong.write(to: dir + "/wrong-key")
        let listener = try Listener(NetworkAddress(host: host, port: 0), key: key, handshakeTimeout: .seconds(30))
        defer { listener.close() }
        for file in ["wrong-key", "key"] {
            let srun = try spawnSrun(["srun", "-N", "1", "--ntasks=1", selfPath(), "cluster-worker", "spawn", "0",
                                      listener.address.description, dir + "/" + file])
            do {
                let conn = try listener.accept(timeout: .seconds(120))
                let name = try conn.receive(String.self) ?? "<eof>"
                try conn.send(-1)
                _ = try conn.receive(Int.self)
                conn.close()
                print("\(file): accepted a worker on \(name)")
            } catch {
                print("\(file): listener \(error.code)")
            }
            var status: Int32 = 0
            while waitpid(srun, &status, 0) < 0 && errno == EINTR {}
            print("\(file): worker \(status == 0 ? "exited(0)" : "failed")")
        }
    }

    /// This program's path (the workers run the same program).
    static func selfPath() -> String {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        return n > 0 ? String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : CommandLine.arguments[0]
    }

    /// Starts `argv` (looked up in PATH) with this process's environment; returns its pid.
    static func spawnSrun(_ argv: [String]) throws -> pid_t {
        var pid: pid_t = 0
        var cargs = argv.map { strdup($0) } + [nil]
        defer { for p in cargs { free(p) } }
        let rc = posix_spawnp(&pid, argv[0], nil, nil, &cargs, environ)
        if rc != 0 {
            writeStderrLine("posix_spawnp \(argv[0]): \(String(cString: strerror(rc)))")
            exit(3)
        }
        return pid
    }

    /// Three Slurm workers, one per node of the allocation, connecting back to `host`.
    ///
    /// `--overlap`: without it (Slurm 22.05's default), the step of a replacement worker waits
    /// for the allocation's CPUs on its node, stays pending, and the pool's close waits the whole
    /// `connectTimeout` for it (measured: 88-120 s with a 120 s timeout, 0.8 s with --overlap).
    /// 45 s: a launch here connects within a few seconds even on a loaded machine, and a
    /// replacement that cannot start (its node dead: srun fails at once) is waited for that long.
    static func remote(_ host: String) -> RemoteWorkers {
        RemoteWorkers(launcher: .slurm(nodes: 3, extraArguments: ["--overlap"]), listenHost: host, advertisedHost: host,
                      connectTimeout: .seconds(45))
    }

    /// An ordered map (one task per item, and automatic chunks) across the three nodes, and the
    /// hosts its tasks ran on.
    static func poolMap(_ m: StartMethod, host: String) async throws {
        try await withPool(remote: remote(host), method: m) { pool in
            let inputs = Array(0..<300)
            print("map \(try await pool.map(poolSquare, inputs, chunksize: 1) == inputs.map { $0 * $0 })")
            print("chunks \(try await pool.map(poolSquare, Array(0..<3000)) == (0..<3000).map { $0 * $0 })")
            let hosts = Set(try await pool.map(clusterHost, Array(0..<60), chunksize: 1))
            print("hosts \(hosts.sorted().joined(separator: " "))")
        }
    }

    /// One task SIGKILLs its worker on a node mid-map: only that task fails, naming the node;
    /// every other ends once with its result; a replacement takes the dead worker's place.
    static func poolKill(_ m: StartMethod, host: String) async throws {
        try await withPool(remote: remote(host), method: m) { pool in
            let inputs = [0, 5, 6, 1, 7, 8, 9, 10]
            var handles: [PoolTask<Int>] = []
            for x in inputs { handles.append(try pool.applyAsync(poolDie, x)) }
            for (x, h) in zip(inputs, handles) {
                do { print("\(x) ok \(try await h.value)") } catch let e as PoolError {
                    let host = e.workerHost ?? "?"
                    print("\(x) \(e.code) host-named=\(host.hasPrefix("flnode") && e.message.contains(host))")
                }
            }
            print("after \(try await pool.map(poolSquare, Array(0..<30), chunksize: 1) == (0..<30).map { $0 * $0 })")
        }
    }

    /// Node 2 dies (its slurmd and every process on it SIGKILLed by `Tools/cluster kill-node 2`)
    /// while a map of 30 tasks of 300 ms runs: every task ends exactly once, with its result or
    /// a failure naming the node; the pool is closed and joined.
    /// `action` (the cluster script's kill-node or cut-node) befalls node 2 mid-map.
    static func poolNodeDies(_ m: StartMethod, host: String, script: String, action: String) async throws {
        try await withPool(remote: remote(host), method: m) { pool in
            _ = try await pool.map(poolSquare, Array(0..<30), chunksize: 1)  // every worker up
            var handles: [PoolTask<Int>] = []
            for _ in 0..<30 { handles.append(try pool.applyAsync(poolSleepMs, 300)) }
            usleep(700_000)
            _ = try spawnSrun(["bash", script, action, "2"])
            var ok = 0, failed: [String] = []
            for h in handles {
                do { _ = try await h.value; ok += 1 } catch let e as PoolError { failed.append("\(e.code) \(e.workerHost ?? "?")") }
            }
            print("ended \(ok + failed.count) of 30")
            print("failed \(Set(failed).sorted().joined(separator: ","))")
            print("after \(try await pool.map(poolSquare, Array(0..<30), chunksize: 1) == (0..<30).map { $0 * $0 })")
        }
        print("pool closed")
    }
}
