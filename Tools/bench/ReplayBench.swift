// Replay figures (issue 5): `check` throughput on a 1M-event trace, and the time to render `show`,
// `html`, the Chrome export and `stats` for a 100k-event trace with messages between processes.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum ReplayBench {
    /// Median seconds of `rounds` runs of `body`.
    static func time(_ rounds: Int, _ body: () -> Void) -> Double {
        var s: [Double] = []
        for _ in 0..<rounds {
            let t0 = fl_monotonic_ns()
            body()
            s.append(Double(fl_monotonic_ns() - t0) / 1e9)
        }
        return s.sorted()[s.count / 2]
    }

    static func run(quick: Bool) {
        let rounds = quick ? 1 : 3
        let big = SyntheticTraces.messaging(children: 50, messages: 9_500)
        let checkS = time(rounds) { precondition(check(big).ok) }
        let small = SyntheticTraces.messaging(children: 20, messages: 2_350)
        print("replay, \(big.eventCount) events: check \(fmt(checkS * 1e3)) ms = \(fmt(Double(big.eventCount) / checkS / 1e6)) M events/s")
        // A SIGKILLed pool: 250k tasks queued without a result, nobody exited (issue 12, item 7).
        let killed = SyntheticTraces.killedPool(tasks: 400_000, done: 150_000)
        let killedS = time(rounds) { precondition(check(killed).violations.allSatisfy { $0.rule == .missingJoin }) }
        print("replay, SIGKILLed pool, \(killed.eventCount) events: check \(fmt(killedS * 1e3)) ms = \(fmt(Double(killed.eventCount) / killedS / 1e6)) M events/s")
        var line = "replay, \(small.eventCount) events:"
        // A fresh copy per round, so the causal graph is built inside the timed part each time.
        for (name, body) in [("show", { (t: Trace) in _ = Timeline(width: 120).render(t) }),
                             ("html", { (t: Trace) in _ = HTMLPage.render(t) }),
                             ("chrome", { (t: Trace) in _ = ChromeTrace.export(t) }),
                             ("stats", { (t: Trace) in _ = t.statsJSON() })] as [(String, (Trace) -> Void)] {
            let s = time(rounds) { body(Trace(processes: small.processes)) }
            line += " \(name) \(fmt(s * 1e3)) ms,"
        }
        print(String(line.dropLast()))
    }

    static func fmt(_ x: Double) -> String { x >= 100 ? "\(Int(x.rounded()))" : "\((x * 100).rounded() / 100)" }
}
