// Replay figures (issue 5): `check` throughput on a 1M-event trace, and the time to render `show`,
// `html`, the Chrome export and `stats` for a 100k-event trace with messages between processes.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum ReplayBench {
    /// A synthetic run: a root that forks `children`, sends each `messages` messages that the
    /// child receives, marks in between, joins them all; about `children * (2 * messages + 3)` events.
    static func trace(children: Int, messages: Int) -> Trace {
        var t: UInt64 = 1_000
        func ev(_ kind: EventKind, _ puid: UInt64, _ seq: Int, _ args: [TraceValue]) -> TraceEvent {
            t += 100
            return TraceEvent(kind: kind, pid: Int32(puid), puid: puid, seq: UInt64(seq), time: t, args: args)
        }
        var root = [ev(.start, 1, 0, [.uint(0), .int(0), .uint(0), .uint(0), .uint(255), .string("main"), .string("")])]
        var kids: [[TraceEvent]] = []
        for c in 0..<children {
            let puid = UInt64(1000 + c)
            let fork = ev(.fork, 1, root.count, [.int(Int64(puid)), .uint(puid), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
            root.append(fork)
            kids.append([ev(.start, puid, 0, [.uint(1), .int(1), .uint(1), .uint(fork.seq), .uint(0), .string("w\(c)"), .string("")])])
        }
        for m in 0..<messages {
            for c in 0..<children {
                let puid = UInt64(1000 + c)
                let send = ev(.send, 1, root.count, [.uint(puid), .uint(16)])
                root.append(send)
                kids[c].append(ev(.recv, puid, kids[c].count, [.uint(puid), .uint(1), .uint(send.seq), .uint(16)]))
                if m % 8 == 0 { kids[c].append(ev(.mark, puid, kids[c].count, [.string("step")])) }
            }
        }
        for c in 0..<children {
            let puid = UInt64(1000 + c)
            kids[c].append(ev(.exit, puid, kids[c].count, [.int(0)]))
            root.append(ev(.join, 1, root.count, [.int(Int64(puid)), .uint(puid), .status(.exited(0))]))
        }
        root.append(ev(.exit, 1, root.count, [.int(0)]))
        var processes = [ProcessTrace(header: ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0), events: root)]
        for (c, evs) in kids.enumerated() {
            processes.append(ProcessTrace(header: ProcessHeader(pid: Int32(1000 + c), ppid: 1, puid: UInt64(1000 + c), startTime: 0, realtime: 0), events: evs))
        }
        return Trace(processes: processes)
    }

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
        let big = trace(children: 50, messages: 9_500)
        let checkS = time(rounds) { precondition(check(big).ok) }
        let small = trace(children: 20, messages: 2_350)
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
