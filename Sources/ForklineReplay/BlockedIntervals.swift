import ForklineTraceFormat

/// A stretch of time a process spent blocked: from its `waitBegin` to the matching `waitEnd`, or
/// to the end of its trace when the wait is still open there. `show`, `html` and the Chrome
/// export draw these as blocked intervals.
public struct BlockedInterval: Sendable, Hashable {
    /// The blocked process.
    public var puid: UInt64
    /// Its `waitBegin`.
    public var begin: TraceEvent
    /// The `waitEnd` that closed it; nil when it is open where the trace ends.
    public var end: TraceEvent?
    /// "blocked on lock 00000000000000a1 (held by taker-ba (pid 502))", as the views print it.
    public var label: String
}

extension Trace {
    /// Every blocked interval of every process, in ``processes`` order then time order.
    public func blockedIntervals() -> [BlockedInterval] {
        guard processes.contains(where: { p in p.events.contains { $0.kind == .waitBegin } }) else { return [] }
        // The holder of each lock generation, to name who a closed lock wait waited behind.
        var holder: [UInt64: [UInt64: UInt64]] = [:]
        for p in processes {
            for e in p.events where e.kind == .lockAcquire || (e.kind == .rlockAcquire && e["depth"]?.uint == 1) {
                if let l = e["lock"]?.uint, let g = e["generation"]?.uint { holder[l, default: [:]][g] = p.header.puid }
            }
        }
        let graph = waitGraph()
        var openLabel: [EventID: String] = [:]
        for w in graph.waits { openLabel[w.begin.id] = "blocked \(describe(w, graph)), where the trace ends" }
        var out: [BlockedInterval] = []
        for p in processes {
            var open: [TraceEvent] = []
            var closed: [(TraceEvent, TraceEvent)] = []
            for e in p.events {
                switch e.kind {
                case .waitBegin: open.append(e)
                case .waitEnd:
                    if let i = open.lastIndex(where: { $0["what"] == e["what"] && $0["object"] == e["object"] }) {
                        closed.append((open.remove(at: i), e))
                    }
                default: break
                }
            }
            var mine = closed.map { BlockedInterval(puid: p.header.puid, begin: $0.0, end: $0.1, label: closedLabel($0.0, $0.1, holder)) }
            for b in open {
                mine.append(BlockedInterval(puid: p.header.puid, begin: b, end: nil,
                                            label: openLabel[b.id] ?? "blocked (\(b.waitKind.map(String.init(describing:)) ?? "wait")), where the trace ends"))
            }
            out += mine.sorted { $0.begin.seq < $1.begin.seq }
        }
        return out
    }

    /// The label of a wait that ended: what it waited on, and for a lock whose hold it waited behind.
    func closedLabel(_ b: TraceEvent, _ e: TraceEvent, _ holder: [UInt64: [UInt64: UInt64]]) -> String {
        let id = hex16(b["object"]?.uint ?? 0)
        let outcome = (e["outcome"]?.uint).flatMap { UInt8(exactly: $0) }.flatMap(WaitOutcome.init(rawValue:)) ?? .done
        let suffix = outcome == .done ? "" : " (\(outcome))"
        switch b.waitKind {
        case .lock?, .rlock?:
            let by = (b["ref"]?.uint).flatMap { holder[b["object"]?.uint ?? 0]?[$0] }.map { " (held by \(name($0)))" } ?? ""
            return "blocked on \(b.waitKind!) \(id)\(by)\(suffix)"
        case .child?: return "blocked joining \(name(b["object"]?.uint ?? 0))\(suffix)"
        case .channel?: return "blocked receiving on channel \(id)\(suffix)"
        case .queueGet?: return "blocked getting from empty queue \(id)\(suffix)"
        case .queuePut?: return "blocked putting on full queue \(id)\(suffix)"
        case .queueJoin?: return "blocked joining queue \(id)\(suffix)"
        case .barrier?: return "blocked at barrier \(id), round \(b["ref"]?.uint ?? 0)\(suffix)"
        case let k?: return "blocked on \(k) \(id)\(suffix)"
        case nil: return "blocked\(suffix)"
        }
    }
}

extension TraceEvent {
    /// The `what` of a `waitBegin` or `waitEnd`.
    var waitKind: WaitKind? { (self["what"]?.uint).flatMap { UInt8(exactly: $0) }.flatMap(WaitKind.init(rawValue:)) }
}
