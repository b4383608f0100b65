import ForklineTraceFormat

extension Trace {
    /// What `replay status` prints: one line per live process (what it is blocked on, since
    /// when, who holds it or could end the wait; or that it runs), the processes that ended, the
    /// wait-for graph, and the deadlocks and stuck waits it shows.
    ///
    /// Works on the trace of a running program (its files are read as far as they are written)
    /// or of a killed one. Lines follow ``processTree``, so the output is stable.
    ///
    /// - Parameters:
    ///   - now: CLOCK_MONOTONIC in ns to measure "ago" from (the `replay` tool passes the
    ///     clock's value as it reads the trace); nil: the trace's last event.
    ///   - alignClocks: for a trace of several hosts, put them on one clock first (``HostClocks``,
    ///     as `show` does; a last `clocks:` line says which offsets), so "since" and "at" compare
    ///     across hosts; false: each host's own clock.
    public func statusText(now: UInt64? = nil, alignClocks: Bool = true) -> String {
        if isMultiHost, alignClocks {
            let (aligned, clocks) = forViews(align: true)
            return aligned.statusText(now: now, alignClocks: false) + "\n" + "clocks: " + (clocks?.summary ?? HostClocks.ownClocksNote)
        }
        let graph = waitGraph()
        let order = processTree
        let first = order.compactMap { $0.events.first?.time }.min() ?? 0
        let last = order.compactMap { $0.events.last?.time }.max() ?? first
        let now = max(now ?? last, last)
        var byProcess: [UInt64: [OpenWait]] = [:]
        for w in graph.waits { byProcess[w.puid, default: []].append(w) }
        let liveOrder = order.filter { graph.live.contains($0.header.puid) }
        var out = ["\(order.count) process\(order.count == 1 ? "" : "es"), \(liveOrder.count) live, \(byProcess.count) blocked"]
        for p in liveOrder {
            let who = name(p.header.puid)
            guard let ws = byProcess[p.header.puid] else {
                let e = p.events.last
                out.append("\(who): running (last event \(e?.kind.name ?? "none") at \(Self.offset(e?.time ?? first, from: first)))")
                continue
            }
            for w in ws {
                out.append("\(who): blocked \(describe(w, graph)), since \(Self.offset(w.begin.time, from: first)) (\(Self.seconds(now &- w.begin.time)) ago)")
            }
        }
        let ended = order.filter { !graph.live.contains($0.header.puid) }
        if !ended.isEmpty {
            out.append("ended: " + ended.map { "\(name($0.header.puid)) \(endText($0))" }.joined(separator: ", "))
        }
        out.append("wait-for graph:")
        var any = false
        for w in graph.waits {
            let what = w.kind == .child ? "join" : "\(w.kind) \(hex16(w.object))"
            for s in w.satisfiers {
                out.append("  \(name(w.puid)) -> \(name(s))  [\(what)]")
                any = true
            }
            if w.satisfiers.isEmpty {
                out.append("  \(name(w.puid)) -> \(w.known ? "nobody (every process that could has ended)" : "unknown")  [\(what)]")
                any = true
            }
        }
        if !any { out.append("  (no process is blocked)") }
        for c in graph.cycles {
            out.append("deadlock: " + (c + [c[0]]).map(name).joined(separator: " -> "))
        }
        for w in graph.stuck {
            out.append("stuck: \(name(w.puid)) is blocked \(describe(w, graph)); no live process can end this wait")
        }
        if !graph.behind.isEmpty {
            out.append("blocked behind them: " + graph.behind.map(name).joined(separator: ", "))
        }
        return out.joined(separator: "\n")
    }

    /// "NAME (pid N)" for a puid of the trace, else its hex.
    func name(_ puid: UInt64) -> String {
        guard let p = process(puid) else { return "process \(hex16(puid))" }
        return "\(p.name) (pid \(p.header.pid))"
    }

    func endText(_ p: ProcessTrace) -> String {
        if let e = p.events.last, e.isEnd {
            if e.kind == .exit { return "exited(\(e["code"]?.int ?? 0))" }
            return "crashed (\(signalName(Int32(e["signal"]?.int ?? 0))))"
        }
        return "joined"
    }

    /// What `w` waits on and who could end it, as a phrase after "blocked".
    func describe(_ w: OpenWait, _ graph: WaitGraph) -> String {
        let id = hex16(w.object)
        let names = w.satisfiers.map(name).joined(separator: ", ")
        let gone = w.ended.map(name).joined(separator: ", ")
        switch w.kind {
        case .lock, .rlock:
            if !w.satisfiers.isEmpty { return "on \(w.kind) \(id) held by \(names)" }
            if !gone.isEmpty { return "on \(w.kind) \(id) (its holder \(gone) ended: the next acquire recovers it)" }
            return "on \(w.kind) \(id) (holder not in the trace)"
        case .semaphore:
            return "on semaphore \(id) " + (names.isEmpty ? "(no unit held: any process may release one)" : "(units held by \(names))")
        case .channel, .queueGet, .queuePut:
            let what = w.kind == .channel ? "to receive on channel \(id)" : w.kind == .queueGet ? "to get from empty queue \(id)" : "to put on full queue \(id)"
            let role = w.kind == .queuePut ? "consumer" : w.kind == .queueGet ? "producer" : "sender"
            if !names.isEmpty { return "\(what) (could be ended by \(names)\(gone.isEmpty ? "" : "; ended: \(gone)"))" }
            if !gone.isEmpty { return "\(what) (every \(role) has ended: \(gone))" }
            return "\(what) (no process has used its other end)"
        case .child:
            let state = graph.waits.contains { $0.puid == w.object } ? "blocked" : "running"
            return "to join \(name(w.object))" + (w.satisfiers.isEmpty ? "" : " (\(state))")
        case .barrier:
            return "at barrier \(id), round \(w.begin["ref"]?.uint ?? 0)" + (names.isEmpty ? "" : " (other parties: \(names))")
        case .condition, .event, .queueJoin:
            let what = w.kind == .queueJoin ? "to join queue \(id)" : "on \(w.kind) \(id)"
            return what + (names.isEmpty ? "" : " (ended before by \(names))")
        }
    }

    static func offset(_ t: UInt64, from first: UInt64) -> String { "+" + seconds(t &- first) }

    static func seconds(_ ns: UInt64) -> String {
        let ms = (ns > UInt64.max / 2 ? 0 : ns) / 1_000_000
        let frac = String(ms % 1000)
        return "\(ms / 1000).\(String(repeating: "0", count: 3 - frac.count))\(frac)s"
    }
}
