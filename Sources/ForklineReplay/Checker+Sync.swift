import ForklineTraceFormat

extension Trace {
    /// Invariant 5 for the synchronisation types: semaphore holds never exceed the capacity,
    /// barrier rounds release only after every party arrived, and holds of one `RLock` by
    /// different processes never overlap (nested holds of one holder are not overlaps).
    func checkSync(_ v: inout [Violation]) {
        checkSemaphores(&v)
        checkBarriers(&v)
        checkRLocks(&v)
    }

    /// Replays each semaphore's operations in ticket order (the ticket is a counter in the
    /// semaphore's shared memory, incremented under its mutex): starting from the capacity,
    /// an acquire takes a unit and a release gives one back. A value below zero is a hold beyond
    /// the capacity; two operations with one ticket changed the semaphore at once; a recorded
    /// value that differs from the replay is a unit taken or given without a trace. Where tickets
    /// are missing (a process killed between its operation and its record) the replay resumes
    /// from the next recorded value. Operations that share a ticket (already a violation) are
    /// replayed in causal order where the causal graph orders them, else by process and
    /// sequence number: never by comparing two processes' clocks.
    func checkSemaphores(_ v: inout [Violation]) {
        var ops: [UInt64: [TraceEvent]] = [:]
        for p in processes {
            for i in p.events.indices where p.events[i].kind == .semAcquire || p.events[i].kind == .semRelease {
                let e = p.events[i]
                if let s = e["semaphore"]?.uint { ops[s, default: []].append(e) }
            }
        }
        for (sem, list) in ops.sorted(by: { $0.key < $1.key }) {
            let sorted = inTicketOrder(list)
            var value: Int64? = nil
            var lastTicket: UInt64 = 0
            var previous: TraceEvent? = nil
            for e in sorted {
                guard let t = e["ticket"]?.uint, let recorded = e["value"]?.uint, let capacity = e["capacity"]?.uint else { continue }
                if let previous, t == lastTicket {
                    v.append(Violation(.semaphoreOverCapacity, "semaphore \(hex16(sem)): two operations with ticket \(t): it was changed by two processes at once", [previous, e]))
                    continue
                }
                if value == nil, t == 1 { value = Int64(clamping: capacity) }
                // Values from the file are untrusted: wrapping and overflow-checked arithmetic.
                if let before = value, t == lastTicket &+ 1 {
                    let (after, overflow) = before.addingReportingOverflow(e.kind == .semAcquire ? -1 : 1)
                    if overflow {
                        v.append(Violation(.semaphoreOverCapacity, "semaphore \(hex16(sem)): ticket \(t) follows a recorded value of \(before), which no semaphore reaches", [previous, e].compactMap { $0 }))
                    } else if after < 0 {
                        v.append(Violation(.semaphoreOverCapacity, "semaphore \(hex16(sem)): the acquire at ticket \(t) took a unit when none was free: \(-after) hold(s) beyond its capacity (initial value \(capacity) plus the releases so far)", [previous, e].compactMap { $0 }))
                    } else if UInt64(after) != recorded {
                        v.append(Violation(.semaphoreOverCapacity, "semaphore \(hex16(sem)): ticket \(t) recorded value \(recorded) where replaying the operations gives \(after): a unit was taken or given untraced", [previous, e].compactMap { $0 }))
                    }
                }
                value = Int64(clamping: recorded)
                lastTicket = t
                previous = e
            }
        }
    }

    /// `ops` by ticket; those sharing a ticket in causal order where one happens before the
    /// other, else by (puid, seq).
    func inTicketOrder(_ ops: [TraceEvent]) -> [TraceEvent] {
        var sorted = ops.sorted { ($0["ticket"]?.uint ?? 0, $0.puid, $0.seq) < ($1["ticket"]?.uint ?? 0, $1.puid, $1.seq) }
        var start = 0
        while start < sorted.count {
            let ticket = sorted[start]["ticket"]?.uint
            var end = start + 1
            while end < sorted.count, sorted[end]["ticket"]?.uint == ticket { end += 1 }
            // A shared ticket is rare (a violation): order the run by repeatedly taking the first
            // operation that no other one left in it happens before (a few graph walks each).
            if end - start > 1, end - start <= 16 {
                var left = Array(sorted[start..<end])
                var ordered: [TraceEvent] = []
                while !left.isEmpty {
                    let i = left.indices.first { i in !left.indices.contains { j in j != i && happensBefore(left[j].id, left[i].id) } } ?? 0
                    ordered.append(left.remove(at: i))
                }
                sorted.replaceSubrange(start..<end, with: ordered)
            }
            start = end
        }
        return sorted
    }

    /// For each barrier round: every `barrierPass` comes after `parties` arrivals of that round,
    /// with distinct arrival indexes. That no pass happens before an arrival of its round is
    /// decided on the causal graph (`checkCausality`: the last arrival reaches every pass, so
    /// a pass that an arrival depends on is a cycle); the clocks of two processes are not compared.
    func checkBarriers(_ v: inout [Violation]) {
        var arrivals: [BarrierRound: [TraceEvent]] = [:]
        var passes: [BarrierRound: [TraceEvent]] = [:]
        for p in processes {
            for i in p.events.indices where p.events[i].kind == .barrierArrive || p.events[i].kind == .barrierPass {
                let e = p.events[i]
                guard let b = e["barrier"]?.uint, let r = e["round"]?.uint else { continue }
                if e.kind == .barrierArrive { arrivals[BarrierRound(barrier: b, round: r), default: []].append(e) }
                else { passes[BarrierRound(barrier: b, round: r), default: []].append(e) }
            }
        }
        for (key, list) in passes.sorted(by: { ($0.key.barrier, $0.key.round) < ($1.key.barrier, $1.key.round) }) {
            let arrived = arrivals[key] ?? []
            let name = "barrier \(hex16(key.barrier)) round \(key.round)"
            for pass in list {
                let parties = pass["parties"]?.uint ?? 0
                if UInt64(arrived.count) < parties {
                    v.append(Violation(.barrierEarlyRelease, "\(name): \(process(pass.puid).map(label) ?? "a party") passed after only \(arrived.count) of \(parties) parties arrived", [pass] + arrived))
                }
            }
            var seen: [UInt64: TraceEvent] = [:]
            for a in arrived {
                guard let i = a["index"]?.uint else { continue }
                if let other = seen[i] {
                    v.append(Violation(.barrierEarlyRelease, "\(name): two parties arrived with index \(i): the round's count was changed by two processes at once", [other, a]))
                }
                seen[i] = a
            }
        }
    }

    /// `RLock`: the outermost acquire (depth 1) of each generation is unique and follows the
    /// previous generation's final release (depth 0); nested acquires of a generation come from
    /// the process that holds it.
    func checkRLocks(_ v: inout [Violation]) {
        var outer: [LockHold: [TraceEvent]] = [:]
        var nested: [LockHold: [TraceEvent]] = [:]
        for p in processes {
            for i in p.events.indices where p.events[i].kind == .rlockAcquire || p.events[i].kind == .rlockRelease {
                let e = p.events[i]
                guard let l = e["lock"]?.uint, let g = e["generation"]?.uint, let d = e["depth"]?.uint else { continue }
                let key = LockHold(lock: l, generation: g)
                if e.kind == .rlockAcquire { if d == 1 { outer[key, default: []].append(e) } else { nested[key, default: []].append(e) } }
            }
        }
        for (key, list) in outer.sorted(by: { ($0.key.lock, $0.key.generation) < ($1.key.lock, $1.key.generation) }) {
            let name = "re-entrant lock \(hex16(key.lock))"
            if list.count > 1 {
                v.append(Violation(.overlappingHolds, "\(name) was acquired \(list.count) times at generation \(key.generation): held by two processes at once", list))
            }
            if let first = list.first, let stranger = nested[key]?.first(where: { $0.puid != first.puid }) {
                v.append(Violation(.overlappingHolds, "\(name): a nested acquire at generation \(key.generation) by a process that does not hold it", [first, stranger]))
            }
            // An outermost acquire that the previous final release depends on is a cycle of the
            // causal graph (`checkCausality`).
        }
    }
}

/// One round of one barrier.
struct BarrierRound: Hashable {
    var barrier: UInt64
    var round: UInt64
}
