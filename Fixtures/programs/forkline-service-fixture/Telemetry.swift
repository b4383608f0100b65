import ArgumentParser
import Forkline
import ForklineService
import Logging
import Metrics
import MetricsTestKit

#if canImport(Glibc)
import Glibc
#endif

/// A log handler that prints each record as `log LEVEL MESSAGE key=value ...` (sorted keys).
struct PrintingLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = all.keys.sorted().map { "\($0)=\(all[$0]!)" }.joined(separator: " ")
        say("log \(event.level) \(event.message) \(fields)")
    }
}

/// Runs five tasks that succeed, one that crashes its worker (SIGSEGV) and one that times out
/// under a PoolService with a printing logger and MetricsTestKit, then prints the metrics.
struct Telemetry: AsyncParsableCommand {
    @Option var method: StartMethod = .forkserver

    func run() async throws {
        let metrics = TestMetrics()
        let logger = Logger(label: "fixture") { _ in PrintingLogHandler() }
        let service = try PoolService(workers: 2, method: method, label: "tele", logger: logger, metricsFactory: metrics)
        let pool = service.pool
        say("map \(try await pool.map(square, 1...5, chunksize: 1))")
        do { _ = try await pool.apply(crashOn1, 1) } catch let e as PoolError { say("crash \(e.code)") }
        do { _ = try await pool.apply(sleepMs, 60_000, timeout: .milliseconds(300)) } catch let e as PoolError { say("timeout \(e.code)") }
        await service.drain()
        func total(_ label: String, _ key: String, _ value: String) -> Int64 {
            metrics.counterTotal(label: label, dimensions: [("pool", "tele"), (key, value)])
        }
        say("tasks ok=\(total("forkline_pool_tasks_total", "outcome", "ok")) crashed=\(total("forkline_pool_tasks_total", "outcome", "crashed")) timedOut=\(total("forkline_pool_tasks_total", "outcome", "timedOut"))")
        say("crashes \(metrics.counterTotal(label: "forkline_pool_worker_crashes_total"))")
        say("replacements died=\(total("forkline_pool_worker_replacements_total", "reason", "died")) timedOut=\(total("forkline_pool_worker_replacements_total", "reason", "timedOut"))")
        let durations = try metrics.expectTimer("forkline_pool_task_duration", [("pool", "tele")]).values
        say("durations \(durations.count) positive=\(durations.allSatisfy { $0 > 0 })")
        let busy = try metrics.expectGauge("forkline_pool_busy_workers", [("pool", "tele")]).values
        let workers = try metrics.expectGauge("forkline_pool_workers", [("pool", "tele")]).values
        let pendingSeen = (try? metrics.expectGauge("forkline_pool_pending_tasks", [("pool", "tele")]).values.isEmpty == false) ?? false
        say("busy max=\(Int(busy.max() ?? -1)) workers max=\(Int(workers.max() ?? -1)) last=\(Int(workers.last ?? -1)) pending recorded=\(pendingSeen)")
    }
}
