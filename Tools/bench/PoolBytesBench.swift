// Pool figure for bytes (issue 14 item 1): a task whose input and output are 256 KiB `[UInt8]`,
// beside the Connection's one-way bandwidth of 1 MiB messages measured in the same run.
import CForkline
import Forkline

/// Returns its input: the task's cost is moving 256 KiB to the worker and 256 KiB back.
let benchEcho = PoolFunction<[UInt8], [UInt8]>("bench-echo-bytes") { $0 }

enum PoolBytesBench {
    static let entries: [any AnyEntryPoint] = [benchEcho]

    /// MiB/s moved through the pool (input plus output bytes over the map's wall time), one
    /// figure per round, beside the Connection's 1 MiB one-way bandwidth in the same run.
    static func figures(quick: Bool) async throws -> [Figure] {
        let rounds = quick ? 3 : 5
        let tasks = quick ? 20 : 100
        let size = 256 << 10
        let input = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var ours: [Double] = []
        try await withPool(workers: 2) { pool in
            _ = try await pool.map(benchEcho, [input], chunksize: 1)  // warm-up
            for _ in 0..<rounds {
                let t0 = fl_monotonic_ns()
                let out = try await pool.map(benchEcho, Array(repeating: input, count: tasks), chunksize: 1)
                let s = Double(fl_monotonic_ns() - t0) / 1e9
                precondition(out.count == tasks && out[tasks - 1] == input, "pool bytes benchmark: wrong outputs")
                ours.append(Double(2 * tasks * size) / Double(1 << 20) / s)
            }
        }
        let megs = quick ? 50 : 200
        let band = try (0..<rounds).map { _ in try ChannelBench.bandwidth(megs) }
        return [Figure(name: "pool task with 256 KiB [UInt8] in and out (MiB/s in+out)", unit: "MiB/s", ours: ours,
                       peerName: "Connection 1 MiB one-way bandwidth", peer: band)]
    }
}
