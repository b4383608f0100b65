import ForklineTrace

extension Trace {
    /// The causal edges out of `e`: the next event of its process, and the event in another
    /// process that it caused (a fork's start, a request's fork, a child's last event's join).
    func successors(_ e: TraceEvent) -> [EventID] {
        var out: [EventID] = []
        if let p = process(e.puid), let i = p.events.firstIndex(where: { $0.seq == e.seq }), i + 1 < p.events.count {
            out.append(p.events[i + 1].id)
        }
        switch e.kind {
        case .fork:
            if let c = e["childPuid"]?.uint, let s = process(c)?.start { out.append(s.id) }
        case .request:
            if let c = e["childPuid"]?.uint, let s = process(c)?.start,
               let f = s["forkerPuid"]?.uint { out.append(EventID(puid: f, seq: s["forkSeq"]?.uint ?? 0)) }
        default: break
        }
        if let p = process(e.puid), p.events.last?.seq == e.seq, let parent = p.start?["parentPuid"]?.uint,
           let join = process(parent)?.events.first(where: { $0.kind == .join && $0["childPuid"]?.uint == e.puid }) {
            out.append(join.id)
        }
        return out
    }

    /// True when `a` happens before `b` by the trace's causal references (program order, fork to
    /// start, request to fork, a child's last event to its join), never by comparing clocks.
    public func happensBefore(_ a: EventID, _ b: EventID) -> Bool {
        guard a != b, let first = event(a) else { return false }
        var seen: Set<EventID> = [a]
        var queue = [first]
        while let e = queue.popLast() {
            for n in successors(e) where !seen.contains(n) {
                if n == b { return true }
                // Within one process, jump straight to b when it comes later.
                if n.puid == b.puid, n.seq <= b.seq { return true }
                seen.insert(n)
                if let next = event(n) { queue.append(next) }
            }
        }
        return false
    }
}
