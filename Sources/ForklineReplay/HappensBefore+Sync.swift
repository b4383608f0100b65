import ForklineTraceFormat

/// The causal edges of the synchronisation types, added to the ``CausalGraph``:
///
/// - a semaphore release to the next acquire in ticket order (the acquire it enabled);
/// - an `RLock`'s final release (depth 0) to the next generation's outermost acquire;
/// - each arrival at a barrier round to the next (by arrival index), the last to every pass;
/// - an event's set (the first of its generation) to each wait that saw that generation: the
///   first in program order when one process set it, else the one set that every other set of
///   that generation does not happen before (a generation set by processes that are concurrent
///   gets no edge: the trace does not say which set raised the flag, and clocks of two
///   processes are not compared);
/// - a condition's notify to each wait it woke (the wait records the notify's state).
enum SyncEdges {
    typealias Edges = [[(from: Int, toProcess: Int, toPosition: Int)]]

    static func add(_ trace: Trace, _ edges: inout Edges) {
        var semOps: [UInt64: [(ticket: UInt64, acquire: Bool, at: (Int, Int))]] = [:]
        var rlockOuter: [LockHold: (Int, Int)] = [:]
        var rlockFreed: [(LockHold, (Int, Int))] = []
        var arrivals: [BarrierRound: [(index: UInt64, at: (Int, Int))]] = [:]
        var passes: [BarrierRound: [(Int, Int)]] = [:]
        var sets: [LockHold: [(Int, Int)]] = [:]  // (event, generation) -> every set, in trace order
        var waits: [(LockHold, (Int, Int))] = []
        var notifies: [LockHold: (Int, Int)] = [:]  // (condition, state)
        var woken: [(LockHold, (Int, Int))] = []
        var any = false
        for (pi, p) in trace.processes.enumerated() {
            for i in p.events.indices where p.events[i].kind.rawValue >= 19 && p.events[i].kind.rawValue <= 29 {
                let e = p.events[i]
                any = true
                let at = (pi, i)
                switch e.kind {
                case .semAcquire, .semRelease:
                    if let s = e["semaphore"]?.uint, let t = e["ticket"]?.uint { semOps[s, default: []].append((t, e.kind == .semAcquire, at)) }
                case .rlockAcquire, .rlockRelease:
                    guard let l = e["lock"]?.uint, let g = e["generation"]?.uint, let d = e["depth"]?.uint else { continue }
                    if e.kind == .rlockAcquire, d == 1 { rlockOuter[LockHold(lock: l, generation: g)] = at }
                    if e.kind == .rlockRelease, d == 0 { rlockFreed.append((LockHold(lock: l, generation: g + 1), at)) }
                case .barrierArrive, .barrierPass:
                    guard let b = e["barrier"]?.uint, let r = e["round"]?.uint else { continue }
                    if e.kind == .barrierArrive { arrivals[BarrierRound(barrier: b, round: r), default: []].append((e["index"]?.uint ?? 0, at)) }
                    else { passes[BarrierRound(barrier: b, round: r), default: []].append(at) }
                case .eventSet:
                    guard let ev = e["event"]?.uint, let g = e["generation"]?.uint else { continue }
                    sets[LockHold(lock: ev, generation: g), default: []].append(at)
                case .eventWait:
                    if e["ok"]?.uint == 1, let ev = e["event"]?.uint, let g = e["generation"]?.uint { waits.append((LockHold(lock: ev, generation: g), at)) }
                case .conditionNotify:
                    if let c = e["condition"]?.uint, let s = e["state"]?.uint { notifies[LockHold(lock: c, generation: s)] = at }
                case .conditionWait:
                    if e["notified"]?.uint == 1, let c = e["condition"]?.uint, let s = e["state"]?.uint { woken.append((LockHold(lock: c, generation: s), at)) }
                default:
                    break
                }
            }
        }
        guard any else { return }
        func edge(_ from: (Int, Int), _ to: (Int, Int)) {
            if from.0 != to.0 { edges[from.0].append((from.1, to.0, to.1)) }
        }
        for (_, ops) in semOps {
            var nextAcquire: (Int, Int)? = nil
            // Ties (two operations with one ticket: a violation) in a fixed order, not by clock.
            for op in ops.sorted(by: { ($0.ticket, $0.at.0, $0.at.1) > ($1.ticket, $1.at.0, $1.at.1) }) {
                if op.acquire { nextAcquire = op.at } else if let a = nextAcquire { edge(op.at, a) }
            }
        }
        for (key, at) in rlockFreed { if let a = rlockOuter[key] { edge(at, a) } }
        for (key, list) in passes {
            // Arrivals are ordered by their index (each took the barrier's mutex in turn): chain
            // them, then the last one reaches every pass. Linear, and every arrival reaches every pass.
            let chain = (arrivals[key] ?? []).sorted { $0.index < $1.index }
            for (a, b) in zip(chain, chain.dropFirst()) { edge(a.at, b.at) }
            if let last = chain.last { for p in list { edge(last.at, p) } }
        }
        for (key, at) in woken { if let n = notifies[key] { edge(n, at) } }
        // Last, over the edges so far: which set of a generation came first.
        var first: [LockHold: (Int, Int)?] = [:]
        for (key, at) in waits {
            if first[key] == nil { first[key] = .some(firstSet(sets[key] ?? [], edges)) }
            if let s = first[key] ?? nil { edge(s, at) }
        }
    }
}

extension SyncEdges {
    /// The set that raised an event's flag, among `sets` of one generation: the first in program
    /// order of one process, or the only one no other set happens before (by `edges`). Nil when
    /// none, or when several are concurrent (or more than 16: the walks would cost too much).
    static func firstSet(_ sets: [(Int, Int)], _ edges: Edges) -> (Int, Int)? {
        guard let head = sets.first else { return nil }
        if sets.allSatisfy({ $0.0 == head.0 }) { return sets.min { $0.1 < $1.1 } }
        // The earliest of each process's sets stands for it.
        var earliest: [Int: Int] = [:]
        for (p, i) in sets { earliest[p] = min(earliest[p] ?? i, i) }
        let candidates = earliest.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        guard candidates.count <= 16 else { return nil }
        let minimal = candidates.filter { c in
            !candidates.contains { d in d != c && CausalGraph.reaches(edges, d.0, d.1, c.0, c.1) }
        }
        return minimal.count == 1 ? minimal[0] : nil
    }
}
