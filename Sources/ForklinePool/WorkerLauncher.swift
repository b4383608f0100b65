import ForklineChannels

/// How a pool with remote workers starts each worker process: the engine that runs the same
/// program elsewhere (docs/cluster.md, "Launchers"). Forkline runs no cluster of its own.
///
/// Each worker is started by one launch: the launcher's command line, then this program's
/// absolute path. The worker finds what it needs in its environment (`FORKLINE_REMOTE_WORKER`:
/// the address to connect back to and the key file's path, never the key), connects,
/// authenticates and runs tasks. A worker that dies is replaced by a new launch.
public struct WorkerLauncher: Sendable, Codable, Hashable, CustomStringConvertible {
    enum Kind: String, Codable, Sendable { case processes, command, srun, sbatch }
    var kind: Kind
    var prefix: [String] = []
    /// For Slurm: the nodes and the workers per node (the pool's size is their product).
    public internal(set) var nodes: Int?
    public internal(set) var tasksPerNode: Int?
    var partition: String?
    var timeLimitMinutes: Int?

    /// Plain processes on this machine that connect over TCP like remote ones: a cluster's
    /// behaviour (authentication, replies over the network, node loss as a closed connection)
    /// without a cluster, for tests and a first run.
    public static let processes = WorkerLauncher(kind: .processes)

    /// Any command line that runs a program, such as `["ssh", "node7"]`: the worker program's
    /// absolute path is appended, and the environment is passed as the command passes it (ssh
    /// does not: use `["ssh", "node7", "env", "FORKLINE_REMOTE_WORKER=..."]` style wrappers, or
    /// srun, which does).
    public static func command(_ argv: [String]) -> WorkerLauncher { WorkerLauncher(kind: .command, prefix: argv) }

    /// How Slurm starts the workers.
    public enum SlurmSubmission: String, Sendable, Codable {
        /// One job step per worker, `srun --nodes=1 --ntasks=1 --relative=N`, inside the
        /// allocation the program runs in (`salloc`, or an `sbatch` script's job).
        case srun
        /// One batch job per worker, `sbatch --wait --nodes=1 --ntasks=1 --wrap=...`: for a
        /// driver outside any allocation (a login node); each worker waits in the queue.
        case sbatch
    }

    /// Workers started by Slurm: `nodes` × `tasksPerNode` of them, worker *i* on node
    /// *i / tasksPerNode* of the allocation (srun's `--relative`), each replacement on the node
    /// of the worker it replaces.
    ///
    /// - Parameters:
    ///   - partition: `--partition` (nil: Slurm's default).
    ///   - timeLimit: `--time`, rounded up to whole minutes (nil: the partition's default).
    ///   - extraArguments: more srun or sbatch options, placed before the program.
    public static func slurm(nodes: Int, tasksPerNode: Int = 1, partition: String? = nil, timeLimit: Duration? = nil,
                             submission: SlurmSubmission = .srun, extraArguments: [String] = []) -> WorkerLauncher {
        let minutes = timeLimit.map { d -> Int in
            let (s, a) = d.components
            return Int(max(1, (s + (a > 0 ? 1 : 0) + 59) / 60))
        }
        return WorkerLauncher(kind: submission == .srun ? .srun : .sbatch, prefix: extraArguments, nodes: max(1, nodes),
                              tasksPerNode: max(1, tasksPerNode), partition: partition, timeLimitMinutes: minutes)
    }

    /// The number of workers the launcher implies (Slurm's nodes × tasks per node), if any.
    public var impliedWorkers: Int? { nodes.map { $0 * (tasksPerNode ?? 1) } }

    /// The command line that starts worker `slot` (0-based, counted modulo the pool's size).
    public func commandLine(slot: Int, program: String) -> [String] {
        switch kind {
        case .processes: return [program]
        case .command: return prefix + [program]
        case .srun:
            var a = ["srun", "--nodes=1", "--ntasks=1", "--relative=\((slot / (tasksPerNode ?? 1)) % (nodes ?? 1))",
                     "--job-name=forkline-worker-\(slot)", "--kill-on-bad-exit=1"]
            if let partition { a.append("--partition=\(partition)") }
            if let timeLimitMinutes { a.append("--time=\(timeLimitMinutes)") }
            return a + prefix + [program]
        case .sbatch:
            var a = ["sbatch", "--wait", "--nodes=1", "--ntasks=1", "--job-name=forkline-worker-\(slot)",
                     "--output=/dev/null", "--export=ALL"]
            if let partition { a.append("--partition=\(partition)") }
            if let timeLimitMinutes { a.append("--time=\(timeLimitMinutes)") }
            return a + prefix + ["--wrap=exec '\(program.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''"))'"]
        }
    }

    public var description: String {
        switch kind {
        case .processes: "local processes"
        case .command: "command \(prefix.joined(separator: " "))"
        case .srun, .sbatch: "Slurm \(kind.rawValue) (\(nodes ?? 1) nodes × \(tasksPerNode ?? 1))"
        }
    }
}

/// Where and how a pool's remote workers connect back (``Pool/init(remote:workers:method:maxTasksPerChild:initializer:timeout:prefetch:)``).
public struct RemoteWorkers: Sendable, Codable, Hashable {
    /// What starts each worker.
    public var launcher: WorkerLauncher
    /// The local address the pool listens on for its workers (port 0: a free one per worker).
    /// `0.0.0.0`: every interface; `127.0.0.1` for workers on this machine.
    public var listenHost: String
    /// The host name or address workers connect to (nil: `127.0.0.1` for ``WorkerLauncher/processes``,
    /// this machine's host name otherwise).
    public var advertisedHost: String?
    /// The key file, mode 0600, that the pool and its workers read. On a cluster it must be on
    /// a file system every node sees (a home or scratch directory). nil: the pool writes a
    /// fresh random key into a new private directory under `TMPDIR` and removes it at the end.
    public var keyFile: String?
    /// How long a worker has from its launch to its authenticated connection (a Slurm queue
    /// can take long).
    public var connectTimeout: Duration

    /// Remote workers started by `launcher`.
    public init(launcher: WorkerLauncher, listenHost: String? = nil, advertisedHost: String? = nil, keyFile: String? = nil,
                connectTimeout: Duration = .seconds(300)) {
        self.launcher = launcher
        self.listenHost = listenHost ?? (launcher == .processes ? "127.0.0.1" : "0.0.0.0")
        self.advertisedHost = advertisedHost
        self.keyFile = keyFile
        self.connectTimeout = connectTimeout
    }
}
