import ForklineTraceFormat

/// Large traces built in memory, for the checker's tests and `forkline-bench --replay`.
package enum SyntheticTraces {
    /// A synthetic run: a root that forks `children`, sends each `messages` messages that the
    /// child receives, marks in between, joins them all; about `children * (2 * messages + 3)` events.
    package static func messaging(children: Int, messages: Int) -> Trace {
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

    /// A pool whose process was SIGKILLed mid-run: a root creates a pool of `workers` fork
    /// workers and submits `tasks` tasks; the first `done` run to a result, the next `workers`
    /// are running, the rest are still queued. Nobody records an exit or a join. About
    /// `tasks + 4 * done` events; `check` passes it with a note for the undelivered tasks.
    package static func killedPool(tasks: Int, done: Int, workers: Int = 2) -> Trace {
        var t: UInt64 = 1_000
        func ev(_ kind: EventKind, _ puid: UInt64, _ seq: Int, _ args: [TraceValue]) -> TraceEvent {
            t += 10
            return TraceEvent(kind: kind, pid: Int32(puid), puid: puid, seq: UInt64(seq), time: t, args: args)
        }
        let pool: TraceValue = .uint(0x7001)
        var root = [ev(.start, 1, 0, [.uint(0), .int(0), .uint(0), .uint(0), .uint(255), .string("main"), .string("")])]
        root.append(ev(.poolCreate, 1, root.count, [pool, .uint(UInt64(workers)), .uint(0), .uint(0)]))
        var kids: [[TraceEvent]] = []
        for w in 0..<workers {
            let puid = UInt64(1000 + w)
            let fork = ev(.fork, 1, root.count, [.int(Int64(puid)), .uint(puid), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
            root.append(fork)
            kids.append([ev(.start, puid, 0, [.uint(1), .int(1), .uint(1), .uint(fork.seq), .uint(0), .string("PoolWorker-\(w)"), .string("")])])
        }
        for task in 0..<tasks {
            root.append(ev(.poolSubmit, 1, root.count, [pool, .uint(UInt64(task)), .uint(1), .uint(UInt64(task)), .uint(1), .uint(1)]))
        }
        for task in 0..<min(tasks, done + workers) {
            let w = task % workers
            let task64 = UInt64(task)
            root.append(ev(.poolDispatch, 1, root.count, [pool, .uint(task64), .uint(UInt64(1000 + w)), .uint(0)]))
            kids[w].append(ev(.taskBegin, UInt64(1000 + w), kids[w].count, [pool, .uint(task64)]))
            guard task < done else { continue }  // running when the kill came
            kids[w].append(ev(.taskEnd, UInt64(1000 + w), kids[w].count, [pool, .uint(task64), .uint(1)]))
            root.append(ev(.poolResult, 1, root.count, [pool, .uint(task64), .uint(1), .uint(task64), .uint(0)]))
        }
        var processes = [ProcessTrace(header: ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0), events: root)]
        for (w, evs) in kids.enumerated() {
            let puid = UInt64(1000 + w)
            processes.append(ProcessTrace(header: ProcessHeader(pid: Int32(puid), ppid: 1, puid: puid, startTime: 0, realtime: 0), events: evs))
        }
        return Trace(processes: processes)
    }
}
