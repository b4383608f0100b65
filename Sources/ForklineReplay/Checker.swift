import ForklineTrace

extension Trace {
    /// Checks DESIGN.md's invariants 1-3 and collects every violation (it never stops at the first).
    ///
    /// 1. Every fork has exactly one start in the child (or a `startFailed`), after the fork.
    /// 2. Per-process sequence numbers and times increase; nothing follows an exit or crash.
    /// 3. Every child is joined by its parent exactly once, after the child's last event, with
    ///    the status the child's own end implies.
    public func check() -> CheckReport {
        var v: [Violation] = []
        for name in unreadable { v.append(Violation(.damaged, name)) }
        for p in processes { for d in p.damage { v.append(Violation(.damaged, "\(p.source): \(d)")) } }

        // Forks by (forker, seq) and by child.
        var forkByID: [EventID: TraceEvent] = [:]
        var failed: Set<UInt64> = []
        for p in processes {
            for e in p.events {
                if e.kind == .fork { forkByID[e.id] = e }
                if e.kind == .startFailed, let c = e["childPuid"]?.uint { failed.insert(c) }
            }
        }

        for p in processes {
            checkOrder(p, &v)
            guard let start = p.start else {
                v.append(Violation(.noStart, "process \(p.header.pid) (\(hex16(p.header.puid))) has no start event first", Array(p.events.prefix(1))))
                continue
            }
            let forker = start["forkerPuid"]?.uint ?? 0
            if forker != 0 {
                let fid = EventID(puid: forker, seq: start["forkSeq"]?.uint ?? 0)
                if let fork = forkByID[fid], fork["childPuid"]?.uint == p.header.puid {
                    if start.time < fork.time {
                        v.append(Violation(.startBeforeFork, "\(label(p)) starts before the fork that created it", [fork, start]))
                    }
                } else {
                    v.append(Violation(.startWithoutFork, "\(label(p)) names fork \(fid) which is not in the trace", [start]))
                }
            }
        }

        // Forks without a start. A child its parent killed before it got to record its start
        // (a daemon terminated at exit right after it was forked) is not a violation: its join
        // says so.
        let killedEarly = killedBeforeStart()
        for fork in forkByID.values.sorted(by: { $0.id < $1.id }) {
            guard let child = fork["childPuid"]?.uint else { continue }
            if failed.contains(child) || killedEarly.contains(child) { continue }
            if process(child)?.start == nil {
                v.append(Violation(.forkWithoutStart, "fork of pid \(fork["childPid"]?.int ?? 0) has no start in the child", [fork]))
            }
        }

        checkJoins(&v)
        return CheckReport(violations: v, processes: processes.count, events: eventCount)
    }

    func label(_ p: ProcessTrace) -> String { "process \(p.name) (pid \(p.header.pid))" }

    func checkOrder(_ p: ProcessTrace, _ v: inout [Violation]) {
        var ended: TraceEvent?
        var reportedAfterEnd = false
        for (a, b) in zip(p.events, p.events.dropFirst()) {
            if b.seq <= a.seq {
                v.append(Violation(.order, "\(label(p)): sequence number goes from \(a.seq) to \(b.seq)", [a, b]))
            } else if b.time < a.time {
                v.append(Violation(.order, "\(label(p)): time goes backwards from \(a.time) to \(b.time)", [a, b]))
            }
        }
        for e in p.events {
            if let end = ended, !reportedAfterEnd {
                v.append(Violation(.afterEnd, "\(label(p)) records an event after its \(end.kind.name)", [end, e]))
                reportedAfterEnd = true
            }
            if e.kind == .exit || e.kind == .crash, ended == nil { ended = e }
        }
    }

    /// Children with no file (or no start) whose parent sent them a signal and then joined them
    /// with that signal (or SIGKILL): killed before they could record anything.
    func killedBeforeStart() -> Set<UInt64> {
        var sent: [UInt64: Set<Int32>] = [:]
        var out: Set<UInt64> = []
        for p in processes {
            for e in p.events {
                guard let c = e["childPuid"]?.uint else { continue }
                switch e.kind {
                case .kill, .terminate: sent[c, default: []].insert(Int32(truncatingIfNeeded: e["signal"]?.int ?? 0))
                case .join:
                    if case .signaled(let s)? = e["status"]?.status, sent[c]?.contains(s) == true || s == 9,
                       process(c)?.start == nil {
                        out.insert(c)
                    }
                default: break
                }
            }
        }
        return out
    }

    func checkJoins(_ v: inout [Violation]) {
        let forked = Set(processes.flatMap { $0.events.filter { $0.kind == .fork }.compactMap { $0["childPuid"]?.uint } })
        // Joins recorded in each process, by child.
        var joinsBy: [UInt64: [UInt64: [TraceEvent]]] = [:]
        var signalsSent: [UInt64: [Int32]] = [:]
        for p in processes {
            for e in p.events {
                guard let child = e["childPuid"]?.uint else { continue }
                switch e.kind {
                case .join: joinsBy[p.header.puid, default: [:]][child, default: []].append(e)
                case .kill, .terminate: signalsSent[child, default: []].append(Int32(truncatingIfNeeded: e["signal"]?.int ?? 0))
                default: break
                }
            }
        }
        for (joiner, byChild) in joinsBy {
            for (childPuid, joins) in byChild {
                guard let child = process(childPuid) else {
                    if !forked.contains(childPuid) {
                        v.append(Violation(.joinUnknownChild, "a join names child \(hex16(childPuid)), which is not in the trace", joins))
                    }
                    continue  // forked but never started: the fork rule reports it if it matters
                }
                let parent = child.start?["parentPuid"]?.uint ?? 0
                if parent != joiner {
                    v.append(Violation(.joinNotParent, "\(label(child)) is joined by a process that is not its parent", joins))
                }
                if joins.count > 1 {
                    v.append(Violation(.doubleJoin, "\(label(child)) is joined \(joins.count) times", joins))
                }
                let join = joins[0]
                if let last = child.events.last, join.time < last.time {
                    v.append(Violation(.joinBeforeEnd, "\(label(child)) is joined before its last event", [last, join]))
                }
                if let observed = join["status"]?.status, let why = mismatch(observed, child, signalsSent[childPuid] ?? []) {
                    v.append(Violation(.statusMismatch, "\(label(child)): the join saw \(observed) but \(why)", [join] + (child.end.map { [$0] } ?? [])))
                }
            }
        }
        // Children nobody joined.
        for child in processes {
            guard let parent = child.start?["parentPuid"]?.uint, parent != 0 else { continue }
            if joinsBy[parent]?[child.header.puid] != nil { continue }
            guard let p = process(parent) else { continue }  // the parent's file is missing: reported as damage elsewhere
            let how = p.end == nil ? "its parent did not finish (killed?)" : "its parent ended without joining it"
            v.append(Violation(.missingJoin, "\(label(child)) was never joined: \(how)", Array(child.start.map { [$0] } ?? []) + (p.end.map { [$0] } ?? [])))
        }
    }

    /// Why `observed` does not fit the child's own record, or nil if it does.
    func mismatch(_ observed: ExitStatus, _ child: ProcessTrace, _ signals: [Int32]) -> String? {
        switch (child.end?.kind, observed) {
        case (.exit?, .exited(let code)):
            let own = Int32(truncatingIfNeeded: child.end?["code"]?.int ?? -1)
            return own == code ? nil : "the child recorded exit(\(own))"
        case (.exit?, .signaled):
            return "the child recorded exit(\(child.end?["code"]?.int ?? -1))"
        case (.crash?, .signaled(let s)):
            let own = Int32(truncatingIfNeeded: child.end?["signal"]?.int ?? -1)
            return own == s ? nil : "the child recorded a crash by \(signalName(own))"
        case (.crash?, .exited):
            return "the child recorded a crash by \(signalName(Int32(truncatingIfNeeded: child.end?["signal"]?.int ?? -1)))"
        case (_, .signaled(let s)):
            // No end recorded: killed. If the parent sent signals, the status must be one of them
            // (or SIGKILL: a child also dies of SIGKILL when its parent dies).
            if signals.isEmpty || signals.contains(s) || s == 9 { return nil }
            return "the parent sent \(signals.map(signalName).joined(separator: ", "))"
        case (_, .exited):
            // A trace cut short (disk full) may have lost the exit.
            return child.events.contains(where: { $0.kind == .traceCut }) ? nil : "the child recorded no exit"
        }
    }
}
