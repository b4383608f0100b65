import ForklineTraceFormat

extension Trace {
    /// The hosts' clock offsets the views use (``HostClocks``).
    public var hostClocks: HostClocks { HostClocks(self) }

    /// This trace with every event of each host moved by that host's offset in `clocks` (and
    /// all by one constant more if a time would otherwise fall below zero), for the views. The
    /// events, their order and the causal graph are unchanged.
    public func aligned(by clocks: HostClocks) -> Trace {
        guard !clocks.isIdentity else { return self }
        var minTime = Int64.max
        for p in processes {
            let o = clocks.offset(of: p.header.host)
            for e in p.events { minTime = min(minTime, Int64(bitPattern: e.time) + o) }
        }
        let base = minTime < 0 ? -minTime : 0
        var ps = processes
        for i in ps.indices {
            let o = clocks.offset(of: ps[i].header.host) + base
            guard o != 0 else { continue }
            ps[i].header.startTime = UInt64(bitPattern: Int64(bitPattern: ps[i].header.startTime) &+ o)
            for j in ps[i].events.indices { ps[i].events[j].time = UInt64(bitPattern: Int64(bitPattern: ps[i].events[j].time) + o) }
        }
        let out = Trace(processes: ps, unreadable: unreadable, hostNames: hostNames)
        // The causal graph holds positions only, never times: the shifted copy shares it.
        let graph = causalGraph
        out.causal.graph.withLock { $0 = graph }
        return out
    }

    /// For a view: this trace on one clock and the offsets applied (nil for a trace of one host),
    /// or, when `align` is false, this trace as recorded.
    func forViews(align: Bool) -> (trace: Trace, clocks: HostClocks?) {
        guard isMultiHost else { return (self, nil) }
        guard align else { return (self, nil) }
        let clocks = HostClocks(self)
        return (aligned(by: clocks), clocks)
    }
}
