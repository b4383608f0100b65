// The cost of tracing: figures taken again once `recordingCost` has turned tracing on, each
// beside the same figure measured untraced earlier in the run.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum TracingBench {
    /// Traced twins of the start+join, round trip, queue and pool figures in `untraced`.
    static func figures(untraced: [Figure], quick: Bool) async throws -> [Figure] {
        guard Tracer.isEnabled else { return [] }
        let rounds = quick ? 3 : 5
        var out: [Figure] = []
        func twin(_ name: String, _ samples: [Double]) {
            guard let base = untraced.first(where: { $0.name == name }), !samples.isEmpty else { return }
            out.append(Figure(name: name + ", traced", unit: base.unit, ours: samples,
                              peerName: "untraced, this run", peer: base.ours))
        }
        // Start+join traced beside a bare fork (or posix_spawn) taken alternately at the same
        // moment: late in a run the process is larger and the machine busier, so the untraced
        // figure from the run's start is no fair baseline (docs/benchmarks.md).
        for method in [StartMethod.fork, .forkserver, .spawn] {
            let n = (quick ? 20 : 60) / (method == .spawn ? 2 : 1)
            var ms: [Double] = [], bare: [Double] = []
            for _ in 0..<rounds * n {
                ms.append(try Bench.startJoin(method) / 1e6)
                bare.append((method == .spawn ? Bench.bareSpawn() : Bench.bareFork()) / 1e6)
            }
            out.append(Figure(name: "start+join, \(method), traced", unit: "ms", ours: ms,
                              peerName: method == .spawn ? "bare posix_spawn, alternated" : "bare fork+_exit+waitpid, alternated",
                              peer: bare))
        }
        let trips = quick ? 2_000 : 5_000
        twin("round trip, Connection, Int", try (0..<rounds).map { _ in try ChannelBench.roundTrip(trips, raw: false) })
        twin("round trip, Connection, 8 raw bytes", try (0..<rounds).map { _ in try ChannelBench.roundTrip(trips, raw: true) })
        twin("one way, Connection, 1 MiB messages", try (0..<rounds).map { _ in try ChannelBench.bandwidth(quick ? 50 : 200) })
        // 200k items a round keeps the trace to ~16 MB a round (two events an item).
        twin("queue Int, 1 producer 1 consumer",
             try (0..<rounds).map { _ in try ChannelBench.queueThroughput(200_000, producers: 1, consumers: 1) })
        let tasks = quick ? 10_000 : 30_000
        let autoTasks = quick ? 200_000 : 1_000_000
        var perTask: [Double] = [], perAuto: [Double] = []
        try await withPool(workers: 2) { pool in
            _ = try await pool.map(benchSquare, Array(0..<2_000), chunksize: 1)
            for _ in 0..<rounds {
                perTask.append(try await PoolBench.usPerTask(tasks) { try await pool.map(benchSquare, Array(0..<tasks), chunksize: 1) })
                perAuto.append(try await PoolBench.usPerTask(autoTasks) { try await pool.map(benchSquare, Array(0..<autoTasks)) })
            }
        }
        twin("pool map, tiny tasks, chunksize 1", perTask)
        twin("pool map, tiny tasks, automatic chunks", perAuto)
        return out
    }
}
