import ForklineTraceFormat

extension Checker {
    /// Invariant 3 from the joins' side: the joiner is the parent, once, after the child's last
    /// event, with the child's status.
    mutating func checkJoins() {
        for childPuid in joinOrder {
            guard let all = joins[childPuid], let first = all.first else { continue }
            guard let child = trace.process(childPuid) else {
                // Forked but never started: the fork rule decides whether that is a violation.
                if !forked.contains(childPuid) {
                    add(.joinUnknownChild, "a join names child \(hex16(childPuid)), which is not in the trace", all)
                }
                continue
            }
            // The logical parent: the one its fork implies (the requester of a forkserver fork,
            // else the forker), as `wrong-parent` judges a start that names another; the start's
            // without a fork in the trace. One fault, one violation: a start naming the wrong
            // parent is `wrong-parent`, and its real parent's join is not also `join-not-parent`.
            let parent = forkOf[childPuid].map { $0.requestID?.puid ?? $0.puid } ?? child.start?.parentPuid
            let byParent = all.filter { $0.puid == parent }
            let others = all.filter { $0.puid != parent }
            if !others.isEmpty {
                let joiners = others.map { j in trace.process(j.puid).map(label) ?? "process \(hex16(j.puid)) (pid \(j.pid))" }
                var seen: Set<String> = []
                let who = joiners.filter { seen.insert($0).inserted }.joined(separator: " and ")
                let real = parent.map { trace.process($0).map(label) ?? hex16($0) } ?? "none in the trace"
                add(.joinNotParent, "\(label(child)) is joined by \(who), which is not its parent (its parent: \(real))", others)
            }
            if byParent.count > 1 {
                add(.doubleJoin, "\(label(child)) is joined \(byParent.count) times", byParent)
            }
            // That the join follows the child's last event is decided on the causal graph
            // (`checkCausality`): the clocks of two processes are not compared.
            let join = byParent.first ?? first
            if let observed = join.observedStatus, let why = mismatch(observed, child, signals[childPuid] ?? []) {
                add(.statusMismatch, "\(label(child)): the join saw \(observed) but \(why)",
                    [join] + (end(of: child).map { [$0] } ?? []))
            }
        }
    }

    /// Invariant 3 from the children's side: every started child with a parent is joined by it.
    mutating func checkMissingJoins() {
        for child in trace.processes {
            guard let named = child.start?.parentPuid, named != 0 else { continue }
            // A remote worker: its local end, on another host, cannot join it (it reaps the
            // launcher; the worker ends with its connection).
            if child.method == .remote { continue }
            // The parent its fork implies, as for the joins.
            let parent = forkOf[child.header.puid].map { $0.requestID?.puid ?? $0.puid } ?? named
            if joins[child.header.puid]?.contains(where: { $0.puid == parent }) == true { continue }
            // Joined only by another process: reported as join-not-parent.
            if joins[child.header.puid] != nil { continue }
            // The parent's file is missing: the fork or request rules report the gap.
            guard let p = trace.process(parent) else { continue }
            // A parent whose trace was cut (disk full) recorded nothing after the cut.
            if wasCut(p) { continue }
            let parentEnd = end(of: p)
            // A parent whose trace ends while it is blocked (joining this child, or on anything
            // before it would have joined) did not skip the join: the program hung or was killed
            // there, which `deadlock`, `stuck` and `replay status` explain. One fault, one violation.
            if parentEnd == nil, !p.openWaits.isEmpty { continue }
            let how = parentEnd == nil
                ? "its parent \(label(p)) recorded no exit (it was still running, was killed, or ended with _exit) and no join of it"
                : "its parent \(label(p)) \(parentEnd?.kind == .crash ? "crashed" : "exited") without joining it"
            add(.missingJoin, "\(label(child)) was never joined: \(how)",
                Array(child.start.map { [$0] } ?? []) + (parentEnd.map { [$0] } ?? []), pids: [p.header.pid])
        }
    }

    /// Why `observed` does not fit the child's own record, or nil if it does.
    func mismatch(_ observed: ExitStatus, _ child: ProcessTrace, _ sent: [Int32]) -> String? {
        let end = end(of: child)
        switch (end?.kind, observed) {
        case (.exit?, .exited(let code)):
            let own = end?.exitCode ?? -1
            return own == code ? nil : "the child recorded exit(\(own))"
        case (.exit?, .signaled(let s)):
            // Killed on its way out: a signal sent to it (a pool ending its workers, a
            // terminate) can land after the child recorded its exit and before it is gone.
            if sent.contains(s) { return nil }
            return "the child recorded exit(\(end?.exitCode ?? -1))"
        case (.crash?, .signaled(let s)):
            let own = end?.signalNumber ?? -1
            return own == s ? nil : "the child recorded a crash by \(signalName(own))"
        case (.crash?, .exited):
            return "the child recorded a crash by \(signalName(end?.signalNumber ?? -1))"
        case (_, .signaled(let s)):
            // No end recorded: killed. When the parent sent signals, the status must be one of
            // them, or SIGKILL (the library escalates a terminate to a kill at exit, and the
            // kernel kills a child whose parent died).
            if sent.isEmpty || sent.contains(s) || s == 9 { return nil }
            return "the parent sent \(sent.map(signalName).joined(separator: ", "))"
        case (_, .exited):
            // A trace cut short (disk full) may have lost the exit.
            return wasCut(child) ? nil : "the child recorded no exit"
        }
    }
}
