// The recording figures in this thread's CPU time as well as in wall time: on this shared 2-core
// machine (load averages of 15-25 while other engineers build) a wall-clock sample is mostly the
// time the thread waited for a CPU, while its CPU time is what an event costs.
import CForkline

#if canImport(Glibc)
import Glibc
#endif

enum CPUTime {
    /// This thread's CPU time, ns (CLOCK_THREAD_CPUTIME_ID).
    static func thread() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// The `write()` peer in CPU time: ns of this thread's CPU per 40-byte write.
    static func writeCost(_ n: Int, dir: String) -> [Double] {
        let fd = open("\(dir)/write-peer-cpu", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(fd) }
        let record = [UInt8](repeating: 7, count: 40)
        var out: [Double] = []
        for _ in 0..<3 {
            let c0 = thread()
            record.withUnsafeBytes { r in for _ in 0..<n { _ = write(fd, r.baseAddress, 40) } }
            out.append(Double(thread() - c0) / Double(n))
        }
        return out
    }

    static func recordingFigures(staticMark: [Double], stringMark: [Double], writes: [Double]) -> [Figure] {
        [
            Figure(name: "record one event (static mark), thread CPU time", unit: "ns", ours: staticMark,
                   peerName: "one write() per event, CPU time", peer: writes),
            Figure(name: "record one event (String mark), thread CPU time", unit: "ns", ours: stringMark,
                   peerName: "one write() per event, CPU time", peer: writes),
        ]
    }
}
