// Pool figure for a service's light tasks (issue 14 item 4): 16 concurrent async callers, each
// awaiting one 0.16 ms CPU task at a time, through a 2-worker pool, beside the same work on a
// 2-thread Dispatch pool (two serial queues over one shared FIFO) in the same run.
import CForkline
import Dispatch
import Forkline
import Synchronization

/// Where ``burnSteps(_:)`` leaves its result: a function that touches no memory may be moved
/// across the clock reads that time it (the calibration measured 20 ns for 200,000 steps).
nonisolated(unsafe) var burnSink: UInt64 = 0

/// `n` steps of the generator `benchBurn` runs: the same body in both pools.
@inline(never) func burnSteps(_ n: Int) -> UInt64 {
    var x: UInt64 = 88_172_645_463_325_252
    for _ in 0..<n { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
    burnSink = x
    return x
}

/// The light task: `n` steps of ``burnSteps(_:)`` (about 0.16 ms for the calibrated `n`).
let benchLight = PoolFunction<Int, UInt64>("bench-light") { burnSteps($0) }

/// A 2-thread pool on Dispatch: jobs wait in one FIFO; each submission queues one drain on one
/// of two serial queues (alternately), and a drain runs the FIFO's oldest job, so both threads
/// work whenever two jobs wait.
final class DispatchPair: Sendable {
    let lanes = [DispatchQueue(label: "bench-lane-0"), DispatchQueue(label: "bench-lane-1")]
    let jobs = Mutex<(fifo: [@Sendable () -> Void], head: Int, turn: Int)>(([], 0, 0))

    func run(_ n: Int) async -> UInt64 {
        await withCheckedContinuation { (c: CheckedContinuation<UInt64, Never>) in
            let lane = jobs.withLock { j in
                j.fifo.append { c.resume(returning: burnSteps(n)) }
                j.turn += 1
                return j.turn % 2
            }
            lanes[lane].async { [self] in
                let job = self.jobs.withLock { j -> @Sendable () -> Void in
                    defer {
                        j.head += 1
                        if j.head > 1024 { j.fifo.removeFirst(j.head); j.head = 0 }
                    }
                    return j.fifo[j.head]
                }
                job()
            }
        }
    }
}

enum PoolServiceBench {
    static let entries: [any AnyEntryPoint] = [benchLight]
    static let callers = 16

    /// Steps of ``burnSteps(_:)`` that take about `ms` here (the fastest of a few tries).
    static func calibrate(ms: Double) -> Int {
        // Not a constant: the optimiser would evaluate the loop at compile time.
        let probe = 200_000 + (CommandLine.arguments.count > 1_000 ? 1 : 0)
        var best = UInt64.max
        for _ in 0..<5 {
            let t0 = fl_monotonic_ns()
            // The result is used: a call whose result is dropped is deleted by the optimiser.
            let x = burnSteps(probe)
            best = min(best, fl_monotonic_ns() - t0)
            if x == 42 { print("calibration: a coincidence") }
        }
        return max(1, Int(Double(probe) * ms * 1e6 / Double(max(best, 1))))
    }

    /// Runs `perCaller` calls in each of 16 concurrent callers; returns (tasks/s, p99 ms).
    static func load(perCaller: Int, _ call: @escaping @Sendable () async throws -> Void) async throws -> (Double, Double) {
        let t0 = fl_monotonic_ns()
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { g in
            for _ in 0..<callers {
                g.addTask {
                    var ms: [Double] = []
                    for _ in 0..<perCaller {
                        let s = fl_monotonic_ns()
                        try await call()
                        ms.append(Double(fl_monotonic_ns() - s) / 1e6)
                    }
                    return ms
                }
            }
            return try await g.reduce(into: []) { $0 += $1 }.sorted()
        }
        let seconds = Double(fl_monotonic_ns() - t0) / 1e9
        return (Double(latencies.count) / seconds, latencies[min(latencies.count - 1, latencies.count * 99 / 100)])
    }

    /// Throughput and p99 of the pool and of the Dispatch pair, alternating rounds.
    static func figures(quick: Bool) async throws -> [Figure] {
        let rounds = quick ? 2 : 5
        let perCaller = quick ? 30 : 100
        let steps = calibrate(ms: 0.16)
        print("pool service: \(steps) steps for 0.16 ms")
        let pair = DispatchPair()
        var ours: [(Double, Double)] = [], peer: [(Double, Double)] = []
        try await withPool(workers: 2) { pool in
            _ = try await pool.map(benchLight, Array(repeating: steps, count: 32), chunksize: 1)  // warm-up
            _ = try await load(perCaller: 5) { _ = await pair.run(steps) }
            for _ in 0..<rounds {
                ours.append(try await load(perCaller: perCaller) { _ = try await pool.apply(benchLight, steps) })
                peer.append(try await load(perCaller: perCaller) { _ = await pair.run(steps) })
            }
        }
        let name = "0.16 ms CPU task from 16 concurrent async callers, 2 workers"
        let peerName = "the same work on a 2-thread Dispatch pool"
        return [
            Figure(name: name + " (throughput)", unit: "tasks/s", ours: ours.map(\.0), peerName: peerName, peer: peer.map(\.0)),
            Figure(name: name + " (p99 latency)", unit: "ms", ours: ours.map(\.1), peerName: peerName, peer: peer.map(\.1)),
        ]
    }
}
