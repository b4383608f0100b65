import CForkline
import ForklineReplay
import ForklineTestSupport
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// `replay check` throughput on a generated trace of about a million events (DESIGN.md's target:
/// >= 1 M events/s). There is no peer: the figure stands against the target.
enum ReplayBench {
    static func figures(quick: Bool) -> [Figure] {
        let trace = SyntheticTrace.make(children: 200, marks: quick ? 1_000 : 5_000)
        var rates: [Double] = []
        for _ in 0..<(quick ? 2 : 5) {
            let t0 = fl_monotonic_ns()
            let report = check(trace)
            let seconds = Double(fl_monotonic_ns() - t0) / 1e9
            precondition(report.ok, "the synthetic trace must check clean")
            rates.append(Double(trace.eventCount) / seconds / 1e6)
        }
        return [Figure(name: "replay check, \(trace.eventCount) events", unit: "M events/s", ours: rates,
                       peerName: "target (DESIGN.md)", peer: [1.0])]
    }
}
