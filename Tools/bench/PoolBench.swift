// Pool figures: tiny tasks at chunksize 1 and with automatic chunks beside CPython's Pool.map
// and ProcessPoolExecutor.map in the same run, and a CPU-bound map on 2 workers against 1.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// `def sq(x): return x * x`
let benchSquare = PoolFunction<Int, Int>("bench-square") { $0 &* $0 }

/// About `n` steps of a linear congruential generator: CPU-bound, no memory traffic.
let benchBurn = PoolFunction<Int, UInt64>("bench-burn") { n in
    var x: UInt64 = 88_172_645_463_325_252
    for _ in 0..<n { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
    return x
}

enum PoolBench {
    static let entries: [any AnyEntryPoint] = [benchSquare, benchBurn]

    /// `forkline-bench --pool`: only these figures. With `FORKLINE_BENCH_POOL_ONLY` set to
    /// `chunksize1` or `auto`, only that map, 20 rounds, its us/task printed per round and no
    /// peers: a run to profile (`perf record`, `valgrind --tool=callgrind`), not a figure.
    static func main(quick: Bool, json: Bool) async throws {
        if let only = getenv("FORKLINE_BENCH_POOL_ONLY").map({ String(cString: $0) }) {
            let n = only == "auto" ? 1_000_000 : 30_000
            try await withPool(workers: 2) { pool in
                _ = try await pool.map(benchSquare, Array(0..<2_000), chunksize: 1)
                for _ in 0..<20 {
                    let us = try await usPerTask(n) { try await pool.map(benchSquare, Array(0..<n), chunksize: only == "auto" ? nil : 1) }
                    print("\(only) \(Report.fmt(us)) us/task")
                }
            }
            return
        }
        let f = try await figures(quick: quick)
        print(json ? Report.json(f) : Report.table(f))
    }

    static func figures(quick: Bool) async throws -> [Figure] {
        let rounds = quick ? 3 : 5
        let tiny1 = quick ? 10_000 : 30_000
        let tinyAuto = quick ? 200_000 : 1_000_000
        var chunk1: [Double] = [], auto: [Double] = []
        try await withPool(workers: 2) { pool in
            _ = try await pool.map(benchSquare, Array(0..<2_000), chunksize: 1)  // warm-up
            for _ in 0..<rounds {
                chunk1.append(try await usPerTask(tiny1) { try await pool.map(benchSquare, Array(0..<tiny1), chunksize: 1) })
                auto.append(try await usPerTask(tinyAuto) { try await pool.map(benchSquare, Array(0..<tinyAuto)) })
            }
        }
        // CPU-bound: 2 workers against 1, the same 40 tasks of ~7 ms each (48M steps; 12M, the
        // count until 2026-12-01, took ~1.75 ms, not the ~10 ms this comment said: a 70 ms map
        // where one scheduling hiccup of the VM moved the ratio by a tenth). The smoke run keeps
        // 12M steps (a debug build's loop is many times slower; its figures are not judged).
        let steps = quick ? 12_000_000 : 48_000_000, tasks = quick ? 20 : 40
        var one: [Double] = [], two: [Double] = []
        for _ in 0..<(quick ? 2 : 3) {
            for workers in [1, 2] {
                let seconds = try await withPool(workers: workers) { pool in
                    _ = try await pool.map(benchBurn, [1_000], chunksize: 1)
                    let t0 = fl_monotonic_ns()
                    _ = try await pool.map(benchBurn, Array(repeating: steps, count: tasks), chunksize: 1)
                    return Double(fl_monotonic_ns() - t0) / 1e9
                }
                if workers == 1 { one.append(seconds) } else { two.append(seconds) }
            }
        }
        var out = [
            Figure(name: "pool map, tiny tasks, chunksize 1", unit: "us/task", ours: chunk1, peerName: "CPython Pool.map (forkserver)", peer: []),
            Figure(name: "pool map, tiny tasks, automatic chunks", unit: "us/task", ours: auto, peerName: "CPython Pool.map (forkserver)", peer: []),
            Figure(name: "pool CPU-bound map, 2 workers", unit: "s", ours: two, peerName: "same map, 1 worker", peer: one),
        ]
        if let python = Python.find(), let py = python3Pool(python, tiny1: tiny1, tinyAuto: tinyAuto, rounds: rounds) {
            out[0].peer = py.pool1
            out[0].python = py.pool1
            out[1].peer = py.poolAuto
            out[1].python = py.poolAuto
            out.insert(contentsOf: [
                Figure(name: "pool map, tiny tasks, chunksize 1", unit: "us/task", ours: chunk1,
                       peerName: "CPython ProcessPoolExecutor.map (forkserver)", peer: py.executor1, python: py.executor1),
                Figure(name: "pool map, tiny tasks, automatic chunks", unit: "us/task", ours: auto,
                       peerName: "CPython ProcessPoolExecutor.map, same chunks", peer: py.executorAuto, python: py.executorAuto),
            ], at: 2)
        }
        out += try await PoolBytesBench.figures(quick: quick)
        out += try await PoolServiceBench.figures(quick: quick)
        let speedup = Stats.median(one) / Stats.median(two)
        print("pool: chunksize 1 \(Report.fmt(1e3 / Stats.median(chunk1))) k tasks/s, automatic \(Report.fmt(1 / Stats.median(auto))) M tasks/s; CPU-bound speedup 2 workers vs 1: \(Report.fmt(speedup))x")
        return out
    }

    static func usPerTask(_ n: Int, _ body: () async throws -> [Int]) async throws -> Double {
        let t0 = fl_monotonic_ns()
        let r = try await body()
        precondition(r.count == n && r[n - 1] == (n - 1) * (n - 1))
        return Double(fl_monotonic_ns() - t0) / 1e3 / Double(n)
    }

    /// CPython's `Pool(2).map(sq, range(n))` and `ProcessPoolExecutor(2).map`, chunksize 1 and
    /// automatic (the executor given the chunks Pool picks), in us per task.
    static func python3Pool(_ python: String, tiny1: Int, tinyAuto: Int, rounds: Int)
        -> (pool1: [Double], poolAuto: [Double], executor1: [Double], executorAuto: [Double])? {
        let script = """
        import multiprocessing as mp, time, math
        from concurrent.futures import ProcessPoolExecutor
        def sq(x): return x * x
        def us(f, n):
            t = time.perf_counter(); f(); return (time.perf_counter() - t) * 1e6 / n
        if __name__ == '__main__':
            ctx = mp.get_context('forkserver')
            chunks = math.ceil(\(tinyAuto) / (4 * 2))
            with ctx.Pool(2) as p, ProcessPoolExecutor(2, mp_context=ctx) as e:
                p.map(sq, range(2000), chunksize=1)
                list(e.map(sq, range(2000)))
                for _ in range(\(rounds)):
                    a = us(lambda: p.map(sq, range(\(tiny1)), chunksize=1), \(tiny1))
                    b = us(lambda: p.map(sq, range(\(tinyAuto))), \(tinyAuto))
                    c = us(lambda: list(e.map(sq, range(\(tiny1)), chunksize=1)), \(tiny1))
                    d = us(lambda: list(e.map(sq, range(\(tinyAuto)), chunksize=chunks)), \(tinyAuto))
                    print(a, b, c, d, flush=True)
        """
        let path = "/tmp/forkline-poolbench-\(getpid()).py"
        guard Shell.write(script, to: path) else { return nil }
        defer { unlink(path) }
        guard let pipe = popen("\(python) \(path) 2>/dev/null", "r") else { return nil }
        var rows: [[Double]] = []
        var buf = [CChar](repeating: 0, count: 4096)
        while fgets(&buf, 4096, pipe) != nil {
            let xs = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                .split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Double($0) }
            if xs.count == 4 { rows.append(xs) }
        }
        pclose(pipe)
        guard !rows.isEmpty else { return nil }
        return (rows.map { $0[0] }, rows.map { $0[1] }, rows.map { $0[2] }, rows.map { $0[3] })
    }
}
