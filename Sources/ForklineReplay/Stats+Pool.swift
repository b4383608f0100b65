import FoundationEssentials
import ForklineTraceFormat

/// What `replay stats` reports for one pool: task latencies and how busy each worker was.
public struct PoolStats: Codable, Sendable, Hashable {
    /// Percentiles of a set of durations, in nanoseconds.
    public struct Percentiles: Codable, Sendable, Hashable {
        public var count: Int
        public var p50: UInt64
        public var p90: UInt64
        public var p99: UInt64
        public var max: UInt64

        init(_ xs: [UInt64]) {
            let s = xs.sorted()
            func at(_ q: Double) -> UInt64 { s.isEmpty ? 0 : s[Swift.min(s.count - 1, Int(Double(s.count - 1) * q + 0.5))] }
            count = s.count
            p50 = at(0.5)
            p90 = at(0.9)
            p99 = at(0.99)
            max = s.last ?? 0
        }
    }

    /// One worker process of the pool.
    public struct Worker: Codable, Sendable, Hashable {
        public var pid: Int32
        public var puid: String
        /// Tasks (chunks) it began.
        public var tasks: Int
        /// Time inside tasks (`taskBegin` to `taskEnd`).
        public var busyNs: UInt64
        /// From its first event to its last.
        public var lifetimeNs: UInt64
        /// busy / lifetime, 0...1.
        public var utilisation: Double
    }

    /// The pool's id (hex).
    public var pool: String
    /// The pid of the process that owns the pool.
    public var pid: Int32
    /// Tasks submitted and results delivered.
    public var submitted: Int
    public var delivered: Int
    /// Delivered results by outcome: value, thrown, workerDied, timedOut, cancelled, terminated, noWorkers.
    public var outcomes: [String: Int]
    /// Submit to result delivered (what the caller waited).
    public var latency: Percentiles
    /// Submit to task begin (time queued, including dispatch and the hand-off to the worker).
    public var queueWait: Percentiles
    /// Task begin to task end, in the worker.
    public var runTime: Percentiles
    /// Workers replaced, by reason: maxTasksPerChild, died, timedOut, startFailed.
    public var replaced: [String: Int]
    public var workers: [Worker]

    static let outcomeNames = ["value", "thrown", "workerDied", "timedOut", "cancelled", "terminated", "noWorkers"]
    static let reasonNames = ["maxTasksPerChild", "died", "timedOut", "startFailed"]
}

extension Trace {
    /// Pool statistics for every pool in the trace (empty when there is none): task latency
    /// percentiles and per-worker utilisation. Linear in the number of events.
    public func poolStats() -> [PoolStats] {
        struct Key: Hashable {
            var pool: UInt64
            var task: UInt64
        }
        var owner: [UInt64: Int32] = [:]
        var order: [UInt64] = []
        var submit: [Key: UInt64] = [:], result: [Key: UInt64] = [:], begin: [Key: UInt64] = [:]
        var outcomes: [UInt64: [String: Int]] = [:], replaced: [UInt64: [String: Int]] = [:]
        var run: [UInt64: [UInt64]] = [:]
        var workerBusy: [UInt64: [UInt64: (tasks: Int, busy: UInt64)]] = [:]
        for p in processes {
            var open: [Key: UInt64] = [:]
            for e in p.events {
                guard let pool = e["pool"]?.uint else { continue }
                let key = Key(pool: pool, task: e["task"]?.uint ?? 0)
                switch e.kind {
                case .poolCreate:
                    if owner[pool] == nil { order.append(pool) }
                    owner[pool] = p.header.pid
                case .poolSubmit: submit[key] = e.time
                case .poolResult:
                    result[key] = e.time
                    let o = Int(e["outcome"]?.uint ?? 0)
                    outcomes[pool, default: [:]][o < PoolStats.outcomeNames.count ? PoolStats.outcomeNames[o] : "other", default: 0] += 1
                case .taskBegin:
                    if begin[key] == nil { begin[key] = e.time }
                    open[key] = e.time
                    workerBusy[pool, default: [:]][p.header.puid, default: (0, 0)].tasks += 1
                case .taskEnd:
                    if let b = open.removeValue(forKey: key), e.time >= b {
                        run[pool, default: []].append(e.time - b)
                        workerBusy[pool, default: [:]][p.header.puid, default: (0, 0)].busy += e.time - b
                    }
                case .workerReplaced:
                    let r = Int(e["reason"]?.uint ?? 0)
                    replaced[pool, default: [:]][r < PoolStats.reasonNames.count ? PoolStats.reasonNames[r] : "other", default: 0] += 1
                default: break
                }
            }
        }
        return order.map { pool in
            var latency: [UInt64] = [], wait: [UInt64] = []
            var submitted = 0, delivered = 0
            for (key, s) in submit where key.pool == pool {
                submitted += 1
                if let r = result[key], r >= s { latency.append(r - s) }
                if let b = begin[key], b >= s { wait.append(b - s) }
            }
            for key in result.keys where key.pool == pool { delivered += 1 }
            let workers = (workerBusy[pool] ?? [:]).sorted { $0.key < $1.key }.map { puid, w -> PoolStats.Worker in
                let p = process(puid)
                let times = p?.events.map(\.time) ?? []
                let life = (times.max() ?? 0) - (times.min() ?? 0)
                return PoolStats.Worker(pid: p?.header.pid ?? 0, puid: hex16(puid), tasks: w.tasks, busyNs: w.busy, lifetimeNs: life,
                                        utilisation: life > 0 ? min(1, Double(w.busy) / Double(life)) : 0)
            }
            return PoolStats(pool: hex16(pool), pid: owner[pool] ?? 0, submitted: submitted, delivered: delivered,
                             outcomes: outcomes[pool] ?? [:], latency: .init(latency), queueWait: .init(wait),
                             runTime: .init(run[pool] ?? []), replaced: replaced[pool] ?? [:], workers: workers)
        }
    }

    /// The pool statistics as a JSON array (keys sorted), for `replay stats --json`.
    public func poolStatsJSON() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard let data = try? encoder.encode(poolStats()) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    /// The pool statistics as text, one block per pool.
    public func poolStatsText() -> String {
        func ms(_ ns: UInt64) -> String { formatNs(ns) }
        return poolStats().map { s in
            var out = "pool \(s.pool) (pid \(s.pid)): \(s.submitted) tasks submitted, \(s.delivered) delivered"
            if !s.outcomes.isEmpty { out += " (" + s.outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + ")" }
            out += "\n"
            for (name, p) in [("latency", s.latency), ("queue wait", s.queueWait), ("run time", s.runTime)] where p.count > 0 {
                out += "  \(name): p50 \(ms(p.p50)), p90 \(ms(p.p90)), p99 \(ms(p.p99)), max \(ms(p.max))\n"
            }
            if !s.replaced.isEmpty {
                out += "  workers replaced: " + s.replaced.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ") + "\n"
            }
            for w in s.workers {
                let pct = Int((w.utilisation * 100).rounded())
                out += "  worker pid \(w.pid): \(w.tasks) tasks, busy \(ms(w.busyNs)) of \(ms(w.lifetimeNs)) (\(pct)%)\n"
            }
            return out
        }.joined()
    }
}
