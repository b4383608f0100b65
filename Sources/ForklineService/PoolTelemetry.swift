import CoreMetrics
import ForklinePool
import ForklineTrace
import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Turns a pool's events into swift-log records and swift-metrics figures. Every metric has the
/// dimension `pool` (the service's label):
///
/// | metric | kind | what |
/// |---|---|---|
/// | `forkline_pool_pending_tasks` | gauge | tasks submitted and not yet begun |
/// | `forkline_pool_busy_workers` | gauge | workers running a task |
/// | `forkline_pool_workers` | gauge | workers alive |
/// | `forkline_pool_tasks_total` | counter, `outcome` | tasks delivered: `ok`, `crashed`, `timedOut`, `cancelled`, `terminated`, `noWorkers` |
/// | `forkline_pool_tasks_per_second` | gauge | tasks delivered in the last whole second |
/// | `forkline_pool_task_duration` | timer | from submission to delivery |
/// | `forkline_pool_worker_crashes_total` | counter | workers that died while running a task |
/// | `forkline_pool_worker_replacements_total` | counter, `reason` | workers replaced: `died`, `timedOut`, `maxTasksPerChild`, `startFailed`, `cancelled` |
///
/// Log records carry the metadata `pool`, and `task`, `pid` and `signal` where they apply:
/// worker started (debug), worker replaced (info; error when it died), task crashed its worker
/// (error, with the signal), task timed out (warning).
final class PoolTelemetry: PoolObserver {
    let logger: Logger
    let pending: Gauge
    let busy: Gauge
    let workers: Gauge
    let perSecond: Gauge
    let latency: CoreMetrics.Timer
    let crashes: Counter
    let label: String
    let factory: any MetricsFactory
    /// Counters by dimension value, made on first use.
    let counters = Mutex([String: Counter]())
    /// Tasks delivered in the current second, and which second (monotonic ns / 1e9).
    let rate = Mutex((second: UInt64(0), count: 0))

    init(label: String, logger: Logger, factory: any MetricsFactory) {
        self.label = label
        self.logger = logger
        self.factory = factory
        let d = [("pool", label)]
        pending = Gauge(label: "forkline_pool_pending_tasks", dimensions: d, factory: factory)
        busy = Gauge(label: "forkline_pool_busy_workers", dimensions: d, factory: factory)
        workers = Gauge(label: "forkline_pool_workers", dimensions: d, factory: factory)
        perSecond = Gauge(label: "forkline_pool_tasks_per_second", dimensions: d, factory: factory)
        latency = CoreMetrics.Timer(label: "forkline_pool_task_duration", dimensions: d, factory: factory)
        crashes = Counter(label: "forkline_pool_worker_crashes_total", dimensions: d, factory: factory)
    }

    func counter(_ name: String, _ key: String, _ value: String) -> Counter {
        counters.withLock { c in
            let k = name + "\u{0}" + value
            if let existing = c[k] { return existing }
            let made = Counter(label: name, dimensions: [("pool", label), (key, value)], factory: factory)
            c[k] = made
            return made
        }
    }

    func pool(_ id: UInt64, _ event: PoolEvent) {
        switch event {
        case .workerStarted(let pid):
            logger.debug("pool worker started", metadata: ["pid": "\(pid)"])
        case .workerReplaced(let oldPid, let status, let reason):
            let why: String
            switch reason {
            case .died: why = "died"
            case .timedOut: why = "timedOut"
            case .maxTasksPerChild: why = "maxTasksPerChild"
            case .startFailed: why = "startFailed"
            case .cancelled: why = "cancelled"
            }
            counter("forkline_pool_worker_replacements_total", "reason", why).increment()
            var metadata: Logger.Metadata = ["pid": "\(oldPid)", "reason": "\(why)"]
            if let status { metadata["status"] = "\(status)" }
            logger.log(level: reason == .died || reason == .startFailed ? .error : .info, "pool worker replaced", metadata: metadata)
        case .submitted:
            break
        case .taskEnded(let task, let latencyNs, let outcome):
            latency.recordNanoseconds(Int64(clamping: latencyNs))
            countRate()
            let name: String
            switch outcome {
            case .replied: name = "ok"
            case .workerDied(let pid, let status):
                name = "crashed"
                crashes.increment()
                var metadata: Logger.Metadata = ["task": "\(task)", "pid": "\(pid)"]
                switch status {
                case .signaled(let s)?: metadata["signal"] = "\(signalName(s))"
                case .exited(let c)?: metadata["exitCode"] = "\(c)"
                case nil: break
                }
                logger.error("pool task crashed its worker", metadata: metadata)
            case .timedOut(let pid):
                name = "timedOut"
                logger.warning("pool task timed out; its worker was killed", metadata: ["task": "\(task)", "pid": "\(pid)"])
            case .cancelled: name = "cancelled"
            case .terminated: name = "terminated"
            case .noWorkers: name = "noWorkers"
            }
            counter("forkline_pool_tasks_total", "outcome", name).increment()
        case .load(let p, let b, let w):
            pending.record(p)
            busy.record(b)
            workers.record(w)
        }
    }

    /// Counts a delivered task into the current second; a new second publishes the last one's
    /// count as `forkline_pool_tasks_per_second` (0 when seconds passed without a task).
    func countRate() {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let second = UInt64(ts.tv_sec)
        let published: Int? = rate.withLock { r in
            if r.second == second {
                r.count += 1
                return nil
            }
            let last = r.second + 1 == second ? r.count : 0
            r = (second, 1)
            return last
        }
        if let published { perSecond.record(published) }
    }
}
