import ForklinePool
import ForklineSpawn
import ForklineTrace
import Logging
import Metrics
import ServiceLifecycle

/// A ``Pool`` as a ServiceLifecycle `Service`: a `ServiceGroup` runs it beside the rest of a
/// service, and on graceful shutdown (SIGTERM, SIGINT, or a service ending) it stops taking work,
/// lets the submitted tasks finish within ``shutdownDeadline``, then terminates what is left and
/// joins every worker. No worker outlives ``run()``.
///
/// ```swift
/// let pool = try PoolService(workers: 4, logger: logger)
/// let group = ServiceGroup(services: [pool, httpServer], gracefulShutdownSignals: [.sigterm, .sigint],
///                          logger: logger)
/// try await group.run()
/// ```
///
/// Put the pool before the services that submit to it: a `ServiceGroup` shuts its services down
/// in reverse order, so the HTTP server drains its requests first, then the pool drains.
///
/// The pool's events are logged to `logger` (worker started, replaced, crashed with its signal,
/// task timed out, each with the task id) and measured with swift-metrics (``PoolTelemetry``).
public final class PoolService: Service, Sendable {
    /// The pool: submit work to it.
    public let pool: Pool
    /// How long graceful shutdown waits for submitted tasks before it terminates the pool.
    public let shutdownDeadline: Duration
    let logger: Logger
    let telemetry: PoolTelemetry

    /// Starts a pool for a service.
    ///
    /// - Parameters:
    ///   - workers, method, maxTasksPerChild, initializer, timeout, prefetch, maxPending,
    ///     whenFull, cancellation: as ``Pool``'s initializer.
    ///   - shutdownDeadline: how long graceful shutdown lets submitted tasks run (default 30 s).
    ///   - label: the pool's name in log metadata and metric dimensions (`pool`).
    ///   - logger: where the pool's events go.
    ///   - metricsFactory: the metrics backend (default: the bootstrapped `MetricsSystem`).
    /// - Throws: ``PoolError`` when the pool cannot start.
    public init(workers: Int? = nil, method: StartMethod = .forkserver, maxTasksPerChild: Int? = nil,
                initializer: PoolInitializer? = nil, timeout: Duration? = nil, prefetch: Int = 64,
                maxPending: Int? = nil, whenFull: PoolBackpressure = .wait, cancellation: PoolCancellation = .abandon,
                shutdownDeadline: Duration = .seconds(30), label: String = "forkline",
                logger: Logger = Logger(label: "forkline.pool"),
                metricsFactory: (any MetricsFactory)? = nil) throws(PoolError) {
        var logger = logger
        logger[metadataKey: "pool"] = "\(label)"
        let telemetry = PoolTelemetry(label: label, logger: logger, factory: metricsFactory ?? MetricsSystem.factory)
        self.pool = try Pool(workers: workers, method: method, maxTasksPerChild: maxTasksPerChild, initializer: initializer,
                             timeout: timeout, prefetch: prefetch, maxPending: maxPending, whenFull: whenFull,
                             cancellation: cancellation, observer: telemetry)
        self.shutdownDeadline = shutdownDeadline
        self.logger = logger
        self.telemetry = telemetry
    }

    /// Runs until graceful shutdown, then drains: see ``drain()``. When the task running it is
    /// cancelled instead, the pool is terminated at once.
    ///
    /// - Throws: ``PoolError`` `workerStartFailed` when the pool ends by itself (its workers kept
    ///   failing to start), so the `ServiceGroup` learns that its pool is gone.
    public func run() async throws {
        enum Wake: Sendable { case shutdown, cancelled, ended }
        let pool = self.pool
        let wake = await withTaskGroup(of: Wake.self) { group in
            group.addTask {
                do { try await gracefulShutdown() } catch { return .cancelled }
                return .shutdown
            }
            group.addTask {
                await pool.waitUntilFinished()
                return .ended
            }
            let first = await group.next()!
            switch first {
            case .shutdown: await drain()
            case .cancelled:
                logger.notice("pool service cancelled: terminating the pool")
                await pool.terminate()
            case .ended: group.cancelAll()
            }
            // The other child ends now: the pool has finished, or graceful shutdown was cancelled.
            for await _ in group {}
            return first
        }
        if wake == .ended {
            logger.error("the pool ended before shutdown: its workers could not start")
            throw PoolError(.workerStartFailed, "the pool service's pool ended before shutdown: its workers could not start")
        }
    }

    /// Stops taking work (``Pool/close()``), lets the submitted tasks finish for at most
    /// ``shutdownDeadline``, then terminates the rest (they fail with ``PoolError`` `terminated`)
    /// and waits until every worker is joined. Cancelling the caller cuts the wait short.
    public func drain() async {
        let pool = self.pool
        let deadline = shutdownDeadline
        logger.info("pool shutting down: no new tasks; submitted ones have \(deadline)")
        pool.close()
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await pool.join()
                return true
            }
            group.addTask {
                try? await Task.sleep(for: deadline)
                return false
            }
            let first = await group.next()!
            if !first {
                logger.warning("pool shutdown deadline passed: terminating the tasks left")
                await pool.terminate()
            }
            group.cancelAll()
            for await _ in group {}
            return first
        }
        await pool.join()
        logger.info("pool stopped", metadata: ["drained": "\(drained)"])
    }
}
