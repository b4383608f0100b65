import ForklineSpawn
import ForklineTrace

extension Pool {
    /// Starts a pool whose workers are processes started by a launcher, perhaps on other hosts,
    /// that connect back over TCP and authenticate with a shared key (docs/cluster.md). The
    /// pool's API is the same: `map`, `imap`, `apply`, chunks, timeouts, `maxTasksPerChild`,
    /// and a worker that dies fails only its task (``PoolError/workerHost`` names its host) and
    /// is replaced through the launcher.
    ///
    /// ```swift
    /// // main: ChildProcess.bootstrap(entries: [square]) first: a launched worker runs there.
    /// let remote = RemoteWorkers(launcher: .slurm(nodes: 3, partition: "short"),
    ///                            keyFile: "/home/me/.forkline/job.key")
    /// let squares = try await withPool(remote: remote) { pool in try await pool.map(square, Array(1...1000)) }
    /// ```
    ///
    /// - Parameters:
    ///   - remote: the launcher and the network settings.
    ///   - workers: how many workers (default: the launcher's nodes × tasks per node, else the CPU count).
    ///   - method: how each worker's local end is started on this machine: `.forkserver` or
    ///     `.spawn` (`.fork` is refused with `invalidArgument`).
    ///   - others: as ``init(workers:method:maxTasksPerChild:initializer:timeout:prefetch:maxPending:whenFull:cancellation:)``;
    ///     the initializer runs in each remote worker.
    /// - Throws: ``PoolError`` `invalidArgument` (a bad key file, a bad count), `systemCallFailed`.
    public convenience init(remote: RemoteWorkers, workers: Int? = nil, method: StartMethod = .forkserver,
                            maxTasksPerChild: Int? = nil, initializer: PoolInitializer? = nil, timeout: Duration? = nil,
                            prefetch: Int = 64) throws(PoolError) {
        let n = workers ?? remote.launcher.impliedWorkers ?? ChildProcess.cpuCount
        if n < 1 { throw PoolError(.invalidArgument, "Pool(remote:, workers: \(n)): a pool needs at least one worker") }
        // A worker's local end decodes JSON, resolves addresses and starts a process: not what a
        // fork child may do safely while other threads run (docs/pool.md, fork workers).
        if method == .fork {
            throw PoolError(.invalidArgument, "Pool(remote:, method: .fork): a remote worker's local end cannot be a fork child; use .forkserver or .spawn")
        }
        let session = try RemoteSession(remote, workers: n)
        try self.init(workers: n, method: method, maxTasksPerChild: maxTasksPerChild, initializer: initializer, timeout: timeout,
                      prefetch: prefetch, observer: nil, remote: session)
    }
}

/// Runs `body` with a pool of remote workers (``Pool/init(remote:workers:method:maxTasksPerChild:initializer:timeout:prefetch:)``),
/// then closes and joins it, or terminates it when `body` throws: no worker outlives the call.
public func withPool<R>(remote: RemoteWorkers, workers: Int? = nil, method: StartMethod = .forkserver,
                        maxTasksPerChild: Int? = nil, initializer: PoolInitializer? = nil, timeout: Duration? = nil,
                        prefetch: Int = 64, _ body: (Pool) async throws -> R) async throws -> R {
    let pool = try Pool(remote: remote, workers: workers, method: method, maxTasksPerChild: maxTasksPerChild,
                        initializer: initializer, timeout: timeout, prefetch: prefetch)
    return try await pool.scoped(body)
}
