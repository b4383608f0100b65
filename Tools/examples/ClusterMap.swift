import ArgumentParser
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// The host a worker runs on, after 20 ms (so each worker of the pool gets a share of the map).
let workerHost = PoolFunction<Int, String>("worker-host") { _ in
    usleep(20_000)
    return Tracer.hostName
}

/// `pool-map`'s program with its workers on the nodes of a Slurm allocation: the same `map`,
/// the same lines in the same order, then the hosts the workers ran on.
///
/// ```sh
/// salloc -N3 forkline-examples cluster-map --advertise head-node
/// ```
struct ClusterMap: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster-map",
        abstract: "pool-map with its workers started by Slurm (srun steps) on the nodes of the allocation it runs in.")
    @Option(help: "Nodes of the allocation to use (one worker each by default).") var nodes = 3
    @Option(help: "Workers per node.") var tasksPerNode = 1
    @Option(help: "Slurm partition (default: Slurm's default).") var partition: String?
    @Option(help: "The local address to listen on for the workers.") var listen = "0.0.0.0"
    @Option(help: "The host name or address the workers connect back to (default: this host's name).") var advertise: String?
    @Option(help: "A key file (mode 0600) every node can read (default: a fresh key in a private folder under TMPDIR).")
    var keyFile: String?

    func run() async throws {
        // --overlap: a replacement worker's step starts at once (docs/cluster.md, "Running on Slurm").
        let remote = RemoteWorkers(launcher: .slurm(nodes: nodes, tasksPerNode: tasksPerNode, partition: partition,
                                                    extraArguments: ["--overlap"]),
                                   listenHost: listen, advertisedHost: advertise, keyFile: keyFile)
        let tasks = (1...5).map { "Task \($0)" }
        let (lines, hosts) = try await withPool(remote: remote) { pool in
            (try await pool.map(poolTask, tasks), Set(try await pool.map(workerHost, Array(0..<(10 * nodes * tasksPerNode)), chunksize: 1)))
        }
        for line in lines { print(line) }
        print("workers ran on: \(hosts.sorted().joined(separator: " "))")
    }
}
