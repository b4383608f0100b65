// Peak memory (VmHWM, the resident set's high-water mark) of pool workers beside CPython's, and
// of a process that records a trace beside the same process untraced.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum MemoryBench {
    /// `VmHWM` of `pid` in MiB (nil when it is gone).
    static func peakRSS(_ pid: Int32) -> Double? {
        guard let f = fopen("/proc/\(pid)/status", "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 256)
        while fgets(&buf, 256, f) != nil {
            let line = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if line.hasPrefix("VmHWM:") {
                return line.split(separator: " ").compactMap { Double($0) }.first.map { $0 / 1024 }
            }
        }
        return nil
    }

    /// Peak RSS of each of 2 pool workers after a 100k-task map, beside CPython's Pool(2) workers
    /// after the same map. Run untraced.
    static func poolFigures(quick: Bool) async throws -> [Figure] {
        let n = quick ? 20_000 : 100_000
        var ours: [Double] = []
        for _ in 0..<(quick ? 1 : 3) {
            try await withPool(workers: 2) { pool in
                _ = try await pool.map(benchSquare, Array(0..<n))
                ours += pool.workerPIDs.compactMap(peakRSS)
            }
        }
        var f = Figure(name: "peak RSS of a pool worker (2 workers, \(n)-task map)", unit: "MiB", ours: ours,
                       peerName: "CPython Pool(2) worker", peer: [])
        if let python = Python.find(), let py = Python.numbers(python, pythonPool(n)) {
            f.peer = py
            f.python = py
        }
        return [f]
    }

    static func pythonPool(_ n: Int) -> String {
        """
        import multiprocessing as mp
        def sq(x): return x * x
        def hwm(_):
            for line in open('/proc/self/status'):
                if line.startswith('VmHWM:'): return int(line.split()[1]) / 1024
        if __name__ == '__main__':
            ctx = mp.get_context('forkserver')
            out = []
            for _ in range(3):
                with ctx.Pool(2) as pool:
                    pool.map(sq, range(\(n)))
                    out += pool.map(hwm, range(2), chunksize=1)
            print(' '.join(str(x) for x in out))
        """
    }

    /// Peak RSS of a fork child that records 200k events (then exits), beside the same child
    /// untraced: call once before tracing is on and once after.
    static func recordingChild() throws -> [Double] {
        var out: [Double] = []
        for _ in 0..<3 {
            let (reader, writer) = try Connection.pipe(duplex: false)
            var o = ChildOptions(method: .fork)
            o.pass(writer)
            let child = ChildProcess(options: o) {
                for _ in 0..<200_000 { Tracer.mark("a static label") }
                try writer.send(peakRSS(getpid()) ?? 0)
            }
            try child.start()
            writer.close()
            if let v = try reader.receive(Double.self) { out.append(v) }
            _ = try child.join(timeout: nil)
        }
        return out
    }
}
