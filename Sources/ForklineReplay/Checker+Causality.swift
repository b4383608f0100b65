import ForklineTraceFormat

extension Trace {
    /// The ordering rules across processes, decided on the causal graph alone (clocks are
    /// compared only within one process, by the `order` rule): the graph of program order and
    /// cross edges (fork to start, request to fork, send to recv, a child's last event to its
    /// join, lock and synchronisation hand-offs) must have no cycle. Each cycle is one
    /// violation, of the rule of the claim it contradicts, blamed in this order: a lock hand-off
    /// (an acquire the previous generation's release depends on), a barrier (a pass an arrival
    /// depends on), a semaphore (an acquire the release that enabled it depends on), then a join
    /// (the child's last event depends on the join), a start (the fork depends on the child's
    /// start), a forkserver fork (its request depends on it), a recv (its send depends on it),
    /// and otherwise `causal-cycle` (an event's set or a condition's notify and the wait it
    /// woke). Lock, barrier and semaphore edges come first: each comes from a counter that every
    /// operation bumps under the primitive's mutex (the generation, the arrival index, the
    /// ticket), as explicit as a recv's send id, and they are the claims a faulty primitive
    /// breaks. An event's set is matched to a wait by a generation that several sets share, so
    /// its edge is the weakest and is blamed last.
    ///
    /// A sweep in topological order over the processes' event chains passes every event whose
    /// incoming edges are all passed; it is linear in events and edges and, on a sound trace,
    /// all there is. Events left unpassed hold a cycle: the walk from one stuck process to the
    /// process whose unpassed event it waits for finds it; the blamed edge is then taken as
    /// passed and the sweep resumes, so independent cycles are reported once each.
    func checkCausality(_ v: inout [Violation]) {
        let g = causalGraph
        let n = processes.count
        var need = [[Int32]](repeating: [], count: n)
        var any = false
        for p in 0..<n {
            for e in g.edges[p] {
                if need[e.toProcess].isEmpty { need[e.toProcess] = [Int32](repeating: 0, count: processes[e.toProcess].events.count) }
                need[e.toProcess][e.toPosition] += 1
                any = true
            }
        }
        guard any else { return }
        var pos = [Int](repeating: 0, count: n)
        var edgeAt = [Int](repeating: 0, count: n)
        var work = Array((0..<n).reversed())
        var broken: Set<CrossEdge> = []
        func sweep() {
            while let p = work.popLast() {
                let count = processes[p].events.count
                let out = g.edges[p]
                while pos[p] < count {
                    let i = pos[p]
                    if !need[p].isEmpty, need[p][i] > 0 { break }
                    while edgeAt[p] < out.count, out[edgeAt[p]].from <= i {
                        let e = out[edgeAt[p]]
                        edgeAt[p] += 1
                        if !broken.isEmpty, broken.contains(CrossEdge(fromProcess: p, from: e.from, toProcess: e.toProcess, toPosition: e.toPosition)) { continue }
                        need[e.toProcess][e.toPosition] -= 1
                        if need[e.toProcess][e.toPosition] == 0, e.toProcess != p, pos[e.toProcess] == e.toPosition { work.append(e.toProcess) }
                    }
                    pos[p] += 1
                }
            }
        }
        sweep()
        var reported = 0
        while reported < 100, let stuck = (0..<n).first(where: { pos[$0] < processes[$0].events.count }) {
            // Per stuck process, one unpassed edge into its head.
            var waitsOn: [Int: (from: Int, toProcess: Int, source: Int)] = [:]
            for q in 0..<n {
                for e in g.edges[q] where e.from >= pos[q] && e.toPosition == pos[e.toProcess] && waitsOn[e.toProcess] == nil {
                    waitsOn[e.toProcess] = (e.from, e.toProcess, q)
                }
            }
            // Walk back from the stuck process until one repeats: the edges since then form a cycle.
            var order: [Int] = []
            var at: [Int: Int] = [:]
            var p = stuck
            while at[p] == nil, let w = waitsOn[p] {
                at[p] = order.count
                order.append(p)
                p = w.source
            }
            guard let first = at[p] else { break }  // no cycle found: cannot happen on a stuck sweep
            // The cycle's cross edges: (source process, source position) -> (target process, its head).
            let cycle = order[first...].map { t -> (Int, Int, Int, Int) in
                let w = waitsOn[t]!
                return (w.source, w.from, t, pos[t])
            }
            let blamed = cycle.min { rank($0) < rank($1) }!
            v.append(causalViolation(blamed, cycle))
            reported += 1
            // Take the blamed edge as passed and resume.
            let (_, _, tp, ti) = blamed
            need[tp][ti] -= 1
            if need[tp][ti] == 0 { work.append(tp) }
            // Its source, once passed, does not fire it again.
            broken.insert(CrossEdge(fromProcess: blamed.0, from: blamed.1, toProcess: tp, toPosition: ti))
            sweep()
        }
    }

    /// Blame order of a cycle's edge (lower is blamed first), by the events it joins.
    private func rank(_ edge: (Int, Int, Int, Int)) -> Int {
        let to = processes[edge.2].events[edge.3].kind
        let from = processes[edge.0].events[edge.1].kind
        switch (from, to) {
        case (.lockRelease, .lockAcquire), (.rlockRelease, .rlockAcquire): return 0
        case (.barrierArrive, _): return 1
        case (.semRelease, _): return 2
        case (_, .join): return 3
        case (.fork, _): return 4
        case (.request, _): return 5
        case (.send, .recv): return 6
        default: return 7
        }
    }

    /// The violation a cycle is reported as, naming the blamed edge's events and processes.
    private func causalViolation(_ edge: (Int, Int, Int, Int), _ cycle: [(Int, Int, Int, Int)]) -> Violation {
        let source = processes[edge.0], target = processes[edge.2]
        let a = source.events[edge.1], b = target.events[edge.3]
        var through: [String] = []
        for c in cycle where !through.contains(label(processes[c.2])) { through.append(label(processes[c.2])) }
        let via = "(a causal cycle through \(through.joined(separator: ", ")); the clocks are not compared across processes)"
        switch rank(edge) {
        case 0:
            let lock = b.arg(Arg.lock)?.uint.map(hex16) ?? "?"
            let what = b.kind == .rlockAcquire ? "re-entrant lock" : "lock"
            return Violation(.overlappingHolds, "\(what) \(lock) was acquired by \(label(target)) (generation \(b.arg(Arg.generation)?.uint ?? 0)) before \(label(source)) released the previous generation: by the causal references, the release depends on the acquire \(via)", [a, b])
        case 1:
            let round = "barrier \(b["barrier"]?.uint.map(hex16) ?? "?") round \(b["round"]?.uint ?? 0)"
            return Violation(.barrierEarlyRelease, "\(round): \(label(target)) passed before \(label(source)) arrived: by the causal references, the arrival depends on the pass \(via)", [a, b])
        case 2:
            let sem = b["semaphore"]?.uint.map(hex16) ?? "?"
            return Violation(.semaphoreOverCapacity, "semaphore \(sem): \(label(target)) acquired at ticket \(b["ticket"]?.uint ?? 0) before the release by \(label(source)) that enabled it (ticket \(a["ticket"]?.uint ?? 0)): by the causal references, the release depends on the acquire \(via)", [a, b])
        case 7 where a.kind == .eventSet || a.kind == .conditionNotify:
            let what = a.kind == .eventSet ? "event \(a["event"]?.uint.map(hex16) ?? "?") (generation \(a["generation"]?.uint ?? 0))"
                : "condition \(a["condition"]?.uint.map(hex16) ?? "?") (notify state \(a["state"]?.uint ?? 0))"
            let did = a.kind == .eventSet ? "set" : "notify"
            return Violation(.causalCycle, "\(what): the wait of \(label(target)) (\(b.kind.name) #\(b.seq)) returned before the \(did) by \(label(source)) (\(a.kind.name) #\(a.seq)) that woke it: by the causal references, the \(did) depends on the wait \(via)", [a, b])
        case 3:
            return Violation(.joinBeforeEnd, "\(label(source)) is joined by \(label(target)) before its last event (\(a.kind.name) #\(a.seq)): by the causal references, that event depends on the join \(via)", [a, b])
        case 4:
            return Violation(.startBeforeFork, "\(label(target)) starts before the fork in \(label(source)) that created it: by the causal references, the fork depends on the start \(via)", [a, b])
        case 5:
            return Violation(.startBeforeFork, "the forkserver \(label(target)) forked before \(label(source)) requested it: by the causal references, the request depends on the fork \(via)", [a, b])
        case 6:
            let channel = a.arg(Arg.channel)?.uint.map { "channel \(hex16($0))" } ?? "a channel"
            return Violation(.recvBeforeSend, "\(label(target)) received the message of send #\(a.seq) by \(label(source)) on \(channel) before it was sent: by the causal references, the send depends on the recv \(via)", [a, b])
        default:
            return Violation(.causalCycle, "\(a.kind.name) #\(a.seq) of \(label(source)) and \(b.kind.name) #\(b.seq) of \(label(target)) each depend on the other \(via)", [a, b])
        }
    }
}

/// One cross edge of the causal graph, by its ends' positions.
struct CrossEdge: Hashable {
    var fromProcess: Int
    var from: Int
    var toProcess: Int
    var toPosition: Int
}
