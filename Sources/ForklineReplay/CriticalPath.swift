import ForklineTraceFormat

/// The chain of events that bounded the run's wall time, found on the causal graph.
///
/// From the trace's last event, each step goes back to the predecessor that happened last: the
/// previous event of the same process, or the source of a causal edge arriving there (the send of
/// a recv, the fork of a start, a child's end for a join, a release for an acquire). That
/// predecessor is what the event was waiting for, so the chain is the longest causal chain ending
/// at the run's end, and shortening anything off it cannot shorten the run.
public struct CriticalPath: Sendable {
    /// A stretch of the path inside one process.
    public struct Segment: Sendable, Hashable {
        /// The first event of the stretch.
        public var from: TraceEvent
        /// The last event of the stretch (`from` itself for a stretch of one event).
        public var to: TraceEvent
        /// How the path entered this stretch: a flow label (`fork`, `message`, `join`, ...), or
        /// nil for the first segment.
        public var via: String?
        /// `to.time - from.time`.
        public var duration: UInt64 { to.time >= from.time ? to.time - from.time : 0 }
    }

    /// The stretches, earliest first.
    public var segments: [Segment]

    /// The time from the path's first event to its last.
    public var duration: UInt64 {
        guard let a = segments.first?.from.time, let b = segments.last?.to.time, b >= a else { return 0 }
        return b - a
    }
}

extension Trace {
    /// The critical path (see ``CriticalPath``); empty for an empty trace. Linear in the events.
    public func criticalPath() -> CriticalPath {
        var best: (Int, Int)?
        for (pi, p) in processes.enumerated() {
            for (i, e) in p.events.enumerated() where e.kind != .modules {
                if best.map({ processes[$0.0].events[$0.1].time < e.time }) ?? true { best = (pi, i) }
            }
        }
        guard var at = best else { return CriticalPath(segments: []) }
        let incoming = causalGraph.incoming(processCount: processes.count)
        var steps: [(Int, Int, String?)] = []  // process, position, label of the edge taken into the next step
        var seen: Set<Int> = []
        var offsets: [Int] = []
        var total = 0
        for p in processes { offsets.append(total); total += p.events.count }
        while seen.insert(offsets[at.0] + at.1).inserted {
            var next: (Int, Int)? = at.1 > 0 ? (at.0, at.1 - 1) : nil
            var label: String?
            for (sp, si) in incoming[at.0][at.1] ?? [] {
                let t = processes[sp].events[si].time
                if next.map({ t > processes[$0.0].events[$0.1].time }) ?? true {
                    next = (sp, si)
                    label = Flow(from: processes[sp].events[si], to: processes[at.0].events[at.1]).label
                }
            }
            steps.append((at.0, at.1, label))
            guard let n = next else { break }
            at = n
        }
        // steps run backwards; each step's label is the edge by which it was entered.
        var segments: [CriticalPath.Segment] = []
        for (pi, i, label) in steps.reversed() {
            let e = processes[pi].events[i]
            if let last = segments.last, last.to.puid == e.puid, label == nil {
                segments[segments.count - 1].to = e
            } else {
                segments.append(.init(from: e, to: e, via: label))
            }
        }
        if !segments.isEmpty { segments[0].via = nil }
        return CriticalPath(segments: segments)
    }
}
