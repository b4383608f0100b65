import ForklineReplay
import ForklineTrace

/// A large, sound trace built in memory: a root that forks `children` children, each recording
/// `marks` marks, then joins them all. The replay tests check it; `forkline-bench` times
/// `check` on it.
public enum SyntheticTrace {
    /// The trace (1 + children processes, about children x marks events).
    public static func make(children: Int = 200, marks: Int = 5_000) -> Trace {
        var processes: [ProcessTrace] = []
        var rootEvents: [TraceEvent] = []
        var t: UInt64 = 1
        func ev(_ kind: EventKind, _ puid: UInt64, _ seq: Int, _ args: [TraceValue]) -> TraceEvent {
            t += 1
            return TraceEvent(kind: kind, pid: Int32(puid), puid: puid, seq: UInt64(seq), time: t, args: args)
        }
        rootEvents.append(ev(.start, 1, 0, [.uint(0), .int(0), .uint(0), .uint(0), .uint(255), .string("main"), .string("")]))
        for c in 0..<children {
            let puid = UInt64(1000 + c)
            let fork = ev(.fork, 1, rootEvents.count, [.int(Int64(puid)), .uint(puid), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
            rootEvents.append(fork)
            var evs = [ev(.start, puid, 0, [.uint(1), .int(1), .uint(1), .uint(fork.seq), .uint(0), .string("w\(c)"), .string("")])]
            for m in 1...max(1, marks) { evs.append(ev(.mark, puid, m, [.string("m")])) }
            evs.append(ev(.exit, puid, evs.count, [.int(0)]))
            processes.append(ProcessTrace(header: ProcessHeader(pid: Int32(puid), ppid: 1, puid: puid, startTime: 0, realtime: 0), events: evs))
        }
        for c in 0..<children {
            let puid = UInt64(1000 + c)
            rootEvents.append(ev(.join, 1, rootEvents.count, [.int(Int64(puid)), .uint(puid), .status(.exited(0))]))
        }
        rootEvents.append(ev(.exit, 1, rootEvents.count, [.int(0)]))
        processes.insert(ProcessTrace(header: ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0), events: rootEvents), at: 0)
        return Trace(processes: processes)
    }
}
