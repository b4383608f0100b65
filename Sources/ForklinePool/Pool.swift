import ForklineSpawn
import ForklineTrace
import Synchronization

/// A pool of worker processes: Python's `multiprocessing.Pool`, that never hangs on a dying
/// worker.
///
/// Prefer the scoped form, which always tears the pool down:
///
/// ```swift
/// let square = PoolFunction<Int, Int>("square") { $0 * $0 }
/// // main: ChildProcess.bootstrap(entries: [square]) first, then
/// let squares = try await withPool(workers: 4) { pool in
///     try await pool.map(square, Array(1...100))
/// }
/// ```
///
/// Workers are processes started with the pool's start method (forkserver by default); each
/// runs a synchronous loop. A task that throws delivers its error to its caller; a worker that
/// dies mid-task (a signal, `fatalError`, the OOM killer) fails just that task (or chunk) with
/// ``PoolError`` `workerDied`, and a new worker takes its place. Every submit, dispatch, task
/// begin and end, result and replacement is traced; `replay check` verifies the pool's invariant.
public final class Pool: Sendable {
    /// The pool's id in traces.
    public let id: UInt64
    /// The number of workers.
    public let workers: Int
    /// How workers are started.
    public let method: StartMethod
    /// The timeout of every task that does not give its own.
    public let defaultTimeout: Duration?
    let driver: PoolDriver
    let counters = Mutex((call: UInt64(0), task: UInt64(1), closed: false))

    /// Starts a pool.
    ///
    /// - Parameters:
    ///   - workers: how many worker processes (default: the CPU count).
    ///   - method: the start method (default: forkserver, as in Python 3.14).
    ///   - maxTasksPerChild: a worker exits after this many tasks (chunks) and a new one replaces
    ///     it (default: never).
    ///   - initializer: runs once in each worker before its first task.
    ///   - timeout: the default per-task timeout; a task past it has its worker killed and fails.
    ///   - prefetch: the most tasks a worker may hold at once (the next ones wait in its socket, so
    ///     it never idles between tasks). The pool holds fewer when tasks are long: about 0.4 ms
    ///     of queued work per worker, by the measured average task time; 1 gives each task to the
    ///     first idle worker.
    ///   - maxPending: the most tasks (chunks) submitted and not yet delivered, running ones
    ///     included (default: no bound). A call that does not fit waits or throws, by `whenFull`.
    ///   - whenFull: what a call does when `maxPending` tasks are unfinished (default: wait).
    ///   - cancellation: what happens to a running task whose caller is cancelled (default:
    ///     abandon it; `.killWorker` kills and replaces its worker).
    /// - Throws: ``PoolError`` `invalidArgument` for `workers`, `maxTasksPerChild`, `prefetch` or
    ///   `maxPending` below 1 (nothing is started); `systemCallFailed` when the pool's thread or
    ///   pipe cannot be made.
    public convenience init(workers: Int? = nil, method: StartMethod = .forkserver, maxTasksPerChild: Int? = nil,
                            initializer: PoolInitializer? = nil, timeout: Duration? = nil, prefetch: Int = 64,
                            maxPending: Int? = nil, whenFull: PoolBackpressure = .wait,
                            cancellation: PoolCancellation = .abandon) throws(PoolError) {
        try self.init(workers: workers, method: method, maxTasksPerChild: maxTasksPerChild, initializer: initializer,
                      timeout: timeout, prefetch: prefetch, maxPending: maxPending, whenFull: whenFull,
                      cancellation: cancellation, observer: nil)
    }

    /// Starts a pool whose events go to `observer` (`ForklineService` logs and measures them).
    package init(workers: Int? = nil, method: StartMethod = .forkserver, maxTasksPerChild: Int? = nil,
                 initializer: PoolInitializer? = nil, timeout: Duration? = nil, prefetch: Int = 64,
                 maxPending: Int? = nil, whenFull: PoolBackpressure = .wait, cancellation: PoolCancellation = .abandon,
                 observer: PoolObserver?, remote: RemoteSession? = nil) throws(PoolError) {
        if let workers, workers < 1 {
            throw PoolError(.invalidArgument, "Pool(workers: \(workers)): a pool needs at least one worker (nil: one per CPU)")
        }
        if let maxTasksPerChild, maxTasksPerChild < 1 {
            throw PoolError(.invalidArgument, "Pool(maxTasksPerChild: \(maxTasksPerChild)): must be at least 1 (nil: workers are never replaced)")
        }
        guard prefetch > 0 else {
            throw PoolError(.invalidArgument, "Pool(prefetch: \(prefetch)): a worker must be able to hold at least one task")
        }
        if let maxPending, maxPending < 1 {
            throw PoolError(.invalidArgument, "Pool(maxPending: \(maxPending)): must be at least 1 (nil: no bound)")
        }
        let n = max(1, workers ?? ChildProcess.cpuCount)
        self.id = UInt64.random(in: 1...UInt64.max)
        self.workers = n
        self.method = method
        self.defaultTimeout = timeout
        Tracer.startFromEnvironment()
        Tracer.record(.poolCreate, [.uint(id), .uint(UInt64(n)), .uint(UInt64(maxTasksPerChild ?? 0)), .uint(UInt64(method.rawValue))])
        var config = Scheduler.Config(workers: n, maxTasksPerChild: maxTasksPerChild, window: prefetch, initialWindow: min(prefetch, 2))
        config.killOnCancel = cancellation == .killWorker
        driver = try PoolDriver(pool: id, method: method, initializer: initializer, config: config, observer: observer,
                                admission: Admission(limit: maxPending, policy: whenFull), remote: remote)
        try driver.launch()
        if method == .fork { driver.waitInitialWorkers() }
    }

    deinit {
        // A pool dropped without close/terminate must not leave workers running.
        if !driver.isFinished { driver.send(.terminate) }
    }

    /// Stops accepting tasks; the workers exit once every submitted task has been delivered.
    /// Python's `close()`. Then ``join()``.
    public func close() {
        let first = counters.withLock { c in
            defer { c.closed = true }
            return !c.closed
        }
        if first { driver.send(.close) }
    }

    /// Fails every task not yet delivered (``PoolError`` `terminated`), kills the workers and
    /// waits until they are reaped. Python's `terminate()`.
    public func terminate() async {
        counters.withLock { $0.closed = true }
        driver.send(.terminate)
        await driver.waitFinished()
    }

    /// Waits until every worker has exited: after ``close()``, once all submitted work has a
    /// result or an error; after ``terminate()``, at once. Closes the pool if it is still open.
    public func join() async {
        close()
        await driver.waitFinished()
    }

    /// The pids of the workers alive now (they change as workers are replaced).
    public var workerPIDs: [Int32] { driver.pids.withLock { $0.sorted(by: { $0.key < $1.key }).map(\.value) } }

    /// SIGKILLs one live worker, chosen by `n` (for chaos tests): the pool's own thread sends
    /// the signal through the worker's pidfd, so it can never hit a process that reused a pid.
    package func killWorker(_ n: Int) { driver.send(.killWorker(n)) }

    /// Reserves a call id and `count` consecutive task ids; nil once the pool is closed.
    func reserve(_ count: Int) -> (call: UInt64, firstTask: UInt64)? {
        counters.withLock { c in
            guard !c.closed else { return nil }
            c.call += 1
            defer { c.task += UInt64(count) }
            return (c.call, c.task)
        }
    }
}

/// Runs `body` with a new pool, then closes and joins it (or terminates it when `body` throws or
/// is cancelled): no worker outlives the call.
///
/// - Parameters: as ``Pool/init(workers:method:maxTasksPerChild:initializer:timeout:prefetch:maxPending:whenFull:cancellation:)``.
/// - Throws: what `body` throws, or ``PoolError`` when the pool cannot start.
public func withPool<R>(workers: Int? = nil, method: StartMethod = .forkserver, maxTasksPerChild: Int? = nil,
                        initializer: PoolInitializer? = nil, timeout: Duration? = nil, prefetch: Int = 64,
                        maxPending: Int? = nil, whenFull: PoolBackpressure = .wait, cancellation: PoolCancellation = .abandon,
                        _ body: (Pool) async throws -> R) async throws -> R {
    let pool = try Pool(workers: workers, method: method, maxTasksPerChild: maxTasksPerChild,
                        initializer: initializer, timeout: timeout, prefetch: prefetch,
                        maxPending: maxPending, whenFull: whenFull, cancellation: cancellation)
    return try await pool.scoped(body)
}

extension Pool {
    /// Runs `body` with this pool, then closes and joins it, or terminates it when `body`
    /// throws: the scope of every `withPool`.
    func scoped<R>(_ body: (Pool) async throws -> R) async throws -> R {
        let result: R
        do { result = try await body(self) } catch {
            await terminate()
            throw error
        }
        await join()
        return result
    }
}
