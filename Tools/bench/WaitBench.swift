// The cost of wait records on the fast path (issue 13 item 6): uncontended Lock acquire+release
// and Queue put+get of an Int, tracing off and on, in a fork child that turns tracing on itself.
// A build without wait records and one with them run the same rows: `forkline-bench --waits`.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum WaitBench {
    static func figures(quick: Bool) -> [Figure] {
        let n = quick ? 20_000 : 200_000
        let rounds = quick ? 3 : 7
        guard let r = try? measure(n, rounds: rounds) else { return [] }
        return [
            Figure(name: "Lock acquire+release, uncontended, traced", unit: "ns", ours: r.lockOn, peerName: "the same, tracing off", peer: r.lockOff),
            Figure(name: "Queue<Int> put+get, uncontended, traced", unit: "ns", ours: r.queueOn, peerName: "the same, tracing off", peer: r.queueOff),
        ]
    }

    /// ns per pair, up to 8 rounds each, measured in a fork child.
    static func measure(_ n: Int, rounds: Int) throws -> (lockOff: [Double], lockOn: [Double], queueOff: [Double], queueOn: [Double]) {
        let results = try SharedValue(Samples())
        let dir = "/tmp/forkline-waitbench-trace-\(getpid())"
        let k = min(rounds, 8)
        let child = ChildProcess {
            guard let lock = try? Lock(), let queue = try? Queue<Int>() else { return }
            func lockPairs() -> Double {
                let t0 = fl_monotonic_ns()
                for _ in 0..<n {
                    _ = lock.acquire()
                    try? lock.release()
                }
                return Double(fl_monotonic_ns() - t0) / Double(n)
            }
            func queuePairs() -> Double {
                let t0 = fl_monotonic_ns()
                for i in 0..<n {
                    try? queue.put(i)
                    _ = try? queue.get()
                }
                return Double(fl_monotonic_ns() - t0) / Double(n)
            }
            var s = Samples()
            for i in 0..<k {
                s.lockOff[i] = lockPairs()
                s.queueOff[i] = queuePairs()
            }
            guard (try? Tracer.start(directory: dir)) != nil else { return }
            for i in 0..<k {
                s.lockOn[i] = lockPairs()
                s.queueOn[i] = queuePairs()
            }
            results.store(s)
        }
        try child.start()
        _ = try child.join(timeout: .seconds(600))
        _ = system("rm -rf \(dir)")
        let s = results.load()
        return ((0..<k).map { s.lockOff[$0] }, (0..<k).map { s.lockOn[$0] }, (0..<k).map { s.queueOff[$0] }, (0..<k).map { s.queueOn[$0] })
    }

    struct Samples: BitwiseCopyable, Sendable {
        var lockOff = LockBench.InlineSamples()
        var lockOn = LockBench.InlineSamples()
        var queueOff = LockBench.InlineSamples()
        var queueOn = LockBench.InlineSamples()
    }
}
