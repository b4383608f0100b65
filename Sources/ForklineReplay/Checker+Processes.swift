import ForklineTraceFormat

extension Checker {
    /// At most this many `order` violations per process; a shuffled file would otherwise list
    /// every pair.
    static let orderReportLimit = 5

    /// Invariant 2 (order, nothing after the end) and the process's own side of invariant 1 (its
    /// start names a fork that created it, after that fork).
    mutating func checkProcess(_ p: ProcessTrace) {
        // One scan over the events in place, noting where a rule breaks (the profile of a
        // million-event check showed a retain per event when the scan went through `p.events`
        // between calls that mutate the checker); the violations are then added in event order.
        enum Finding { case order, afterEnd, secondStart }
        var found: [(at: Int, what: Finding)] = []
        var orderReports = 0
        var end: Int?
        var reportedAfterEnd = false
        let events = p.events
        events.withUnsafeBufferPointer { buf in
            for i in buf.indices {
                if i > 0, buf[i].seq <= buf[i - 1].seq || buf[i].time < buf[i - 1].time {
                    orderReports += 1
                    if orderReports <= Self.orderReportLimit { found.append((i, .order)) }
                }
                if end != nil, !reportedAfterEnd {
                    found.append((i, .afterEnd))
                    reportedAfterEnd = true
                }
                let kind = buf[i].kind
                if end == nil, kind == .exit || kind == .crash { end = i }
                if i > 0, kind == .start { found.append((i, .secondStart)) }
            }
        }
        for (i, what) in found {
            switch what {
            case .order:
                let (a, e) = (events[i - 1], events[i])
                let how = e.seq <= a.seq ? "sequence number goes from \(a.seq) to \(e.seq)"
                                         : "time goes backwards from \(a.time) to \(e.time) ns"
                add(.order, "\(label(p)): \(how)", [a, e])
            case .afterEnd:
                let e = end ?? 0
                add(.afterEnd, "\(label(p)) records \(events[i].kind.name) after its \(events[e].kind.name)", [events[e], events[i]])
            case .secondStart:
                add(.duplicateStart, "\(label(p)) records a second start", [events[0], events[i]])
            }
        }
        if orderReports > Self.orderReportLimit {
            add(.order, "\(label(p)): \(orderReports - Self.orderReportLimit) more events out of order", pids: [p.header.pid])
        }
        checkStart(p)
    }

    mutating func checkStart(_ p: ProcessTrace) {
        guard let start = p.start else {
            // A file with no events: a child killed right after it opened its trace file, which
            // its parent's join accounts for.
            if p.events.isEmpty, killedBeforeStart(p.header.puid) { return }
            add(.noStart, "process \(p.header.pid) (\(hex16(p.header.puid))) does not begin with a start event",
                Array(p.events.prefix(1)), pids: [p.header.pid])
            return
        }
        // forkerPuid 0: a root process, or one whose creator was not tracing yet (a forkserver
        // started before tracing was): no fork to name.
        guard let fid = start.forkID, fid.puid != 0 else { return }
        guard let fork = forks[fid], fork.childPuid == p.header.puid else {
            // A forker whose trace was cut (disk full) did not record the forks after the cut;
            // its children may still have room for their own files.
            if forks[fid] == nil, cut.contains(fid.puid) { return }
            let why = forks[fid] == nil ? "which is not in the trace" : "which created another child"
            add(.startWithoutFork, "\(label(p)) names fork \(fid) \(why)", [start])
            return
        }
        // That the start follows the fork is decided on the causal graph (`checkCausality`).
        // The logical parent: the requester for a forkserver child, the forker otherwise.
        let expected = fork.requestID?.puid ?? fork.puid
        if let parent = start.parentPuid, parent != expected {
            let named = trace.process(parent).map(label) ?? hex16(parent)
            let implied = trace.process(expected).map(label) ?? hex16(expected)
            add(.wrongParent, "\(label(p)) names \(named) as its parent, but its fork implies \(implied)",
                [fork, start])
        }
    }

    /// Invariant 1 from the fork's side: exactly one start (or a `startFailed`), and a forkserver
    /// fork names the request that asked for it.
    mutating func checkForks() {
        for fork in forkList {
            guard let child = fork.childPuid else { continue }
            let starts = startsByFork[fork.id] ?? []
            let own = starts.filter { $0 == child }
            // A child whose file holds no start is `no-start` (or accepted as killed at once):
            // one fault, one violation.
            if own.isEmpty, !startFailed.contains(child), !killedBeforeStart(child), trace.process(child) == nil {
                add(.forkWithoutStart, "fork of pid \(fork.arg(Arg.childPid)?.int ?? 0) (\(hex16(child))) has no start in the child",
                    [fork])
            }
            if starts.count > 1 {
                let events = [fork] + starts.compactMap { trace.process($0)?.start }
                add(.duplicateStart, "\(starts.count) processes start from one fork \(fork.id)", events)
            }
            if let rid = fork.requestID {
                guard let request = requests[rid], request.childPuid == child else {
                    let why = requests[rid] == nil ? "which is not in the trace" : "which asked for another child"
                    add(.forkWithoutRequest, "forkserver fork of \(hex16(child)) names request \(rid) \(why)", [fork])
                    continue
                }
            }
        }
    }

    /// A child with no start whose parent signalled it (or it died of SIGKILL) and joined it with
    /// that signal: killed before it could record anything (a daemon terminated right after fork).
    func killedBeforeStart(_ child: UInt64) -> Bool {
        guard let js = joins[child] else { return false }
        let sent = signals[child] ?? []
        return js.contains { j in
            if case .signaled(let s)? = j.observedStatus { return s == 9 || sent.contains(s) }
            return false
        }
    }
}
