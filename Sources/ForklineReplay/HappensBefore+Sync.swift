import ForklineTraceFormat

/// The causal edges of the synchronisation types, added to the ``CausalGraph``:
///
/// - a semaphore release to the next acquire in ticket order (the acquire it enabled);
/// - an `RLock`'s final release (depth 0) to the next generation's outermost acquire;
/// - each arrival at a barrier round to the next (by arrival index), the last to every pass;
/// - an event's set (the first of its generation) to each wait that saw that generation;
/// - a condition's notify to each wait it woke (the wait records the notify's state).
enum SyncEdges {
    typealias Edges = [[(from: Int, toProcess: Int, toPosition: Int)]]

    static func add(_ trace: Trace, _ edges: inout Edges) {
        var semOps: [UInt64: [(ticket: UInt64, acquire: Bool, at: (Int, Int))]] = [:]
        var rlockOuter: [LockHold: (Int, Int)] = [:]
        var rlockFreed: [(LockHold, (Int, Int))] = []
        var arrivals: [BarrierRound: [(index: UInt64, at: (Int, Int))]] = [:]
        var passes: [BarrierRound: [(Int, Int)]] = [:]
        var sets: [LockHold: (at: (Int, Int), time: UInt64)] = [:]  // (event, generation)
        var waits: [(LockHold, (Int, Int))] = []
        var notifies: [LockHold: (Int, Int)] = [:]  // (condition, state)
        var woken: [(LockHold, (Int, Int))] = []
        var any = false
        for (pi, p) in trace.processes.enumerated() {
            for (i, e) in p.events.enumerated() where e.kind.rawValue >= 19 && e.kind.rawValue <= 29 {
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
                    let key = LockHold(lock: ev, generation: g)
                    if sets[key].map({ e.time < $0.time }) ?? true { sets[key] = (at, e.time) }
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
            for op in ops.sorted(by: { $0.ticket > $1.ticket }) {
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
        for (key, at) in waits { if let s = sets[key] { edge(s.at, at) } }
        for (key, at) in woken { if let n = notifies[key] { edge(n, at) } }
    }
}
