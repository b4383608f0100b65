import ForklineTraceFormat

extension Trace {
    /// The hosts' clock offsets the views use (``HostClocks``).
    public var hostClocks: HostClocks { HostClocks(self) }

    /// This trace with every event of each host moved by that host's offset in `clocks` (and
    /// all by one constant more if a time would otherwise fall below zero), for the views. The
    /// events, their order and the causal graph are unchanged.
    public func aligned(by clocks: HostClocks) -> Trace {
        guard !clocks.isIdentity else { return self }
        // The constant that keeps every moved time at or above zero.
        var base: UInt64 = 0
        for p in processes {
            let o = clocks.offset(of: p.header.host)
            guard o < 0, let t = p.events.map(\.time).min(), t < o.magnitude else { continue }
            base = max(base, o.magnitude - t)
        }
        var ps = processes
        for i in ps.indices {
            // Offsets are at most 2^61 in size (HostClocks clamps them), so this cannot overflow;
            // a damaged time near the top of the range wraps instead of trapping.
            let shift = UInt64(bitPattern: clocks.offset(of: ps[i].header.host) + Int64(base))
            guard shift != 0 else { continue }
            ps[i].header.startTime = ps[i].header.startTime &+ shift
            for j in ps[i].events.indices { ps[i].events[j].time = ps[i].events[j].time &+ shift }
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
