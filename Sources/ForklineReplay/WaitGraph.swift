import ForklineTraceFormat

/// A wait still open where a process's trace ends: the process was blocked there (when the
/// trace is of a running program, it is blocked now).
public struct OpenWait: Sendable, Hashable {
    /// The blocked process.
    public var puid: UInt64
    /// Its `waitBegin`.
    public var begin: TraceEvent
    /// What it waits on.
    public var kind: WaitKind
    /// The lock, semaphore, channel, queue, barrier, condition or event id, or the child's puid.
    public var object: UInt64
    /// The processes that hold what it waits for or could end the wait (puids, in trace order):
    /// a lock's holder, a channel's or queue's other users, the child it joins.
    public var satisfiers: [UInt64]
    /// True when the trace says who could end the wait (else anyone might: a semaphore nobody
    /// holds, a channel whose sending end no process has used yet).
    public var known: Bool
    /// Processes that could have ended it but ended themselves (a queue's producers that exited).
    public var ended: [UInt64]
}

/// Who waits for whom where the trace ends: every open wait, the edges from each blocked process
/// to the processes that could end its wait, and what follows from them.
///
/// A blocked process can still make progress when one process that could end its wait can (a
/// running process, or one whose wait has unknown satisfiers); the blocked processes left over
/// when that is applied until nothing changes can never go on. Among them, the strongly
/// connected ones are deadlocks (a wait-for cycle), the ones with no live satisfier at all are
/// stuck (every sender gone), and the rest are blocked behind those.
public struct WaitGraph: Sendable {
    /// Open waits, in process order (``Trace/processTree``) then wait order.
    public var waits: [OpenWait]
    /// Processes with no `exit` or `crash` and not joined: live, or killed without a record.
    public var live: Set<UInt64>
    /// Wait-for cycles among processes that can never go on, each starting at its first process.
    public var cycles: [[UInt64]]
    /// Open waits that no live process can end, and whose trace names who could have (gone now).
    public var stuck: [OpenWait]
    /// Blocked processes that cannot go on because they wait for a deadlocked or stuck one.
    public var behind: [UInt64]
}

extension Trace {
    /// Processes in a stable order: roots by start time and puid, then each process's children
    /// in the order it created them (its `fork`, or its `request` to the forkserver: a
    /// depth-first walk of the logical process tree); processes no parent names come last.
    public var processTree: [ProcessTrace] {
        var kids: [UInt64: [UInt64]] = [:]
        var forkSeq: [UInt64: UInt64] = [:]
        for p in processes {
            for e in p.events where e.kind == .fork || e.kind == .request {
                if let c = e.childPuid, forkSeq[c] == nil, self.process(c)?.start?["parentPuid"]?.uint == p.header.puid { forkSeq[c] = e.seq }
            }
        }
        var roots: [ProcessTrace] = []
        for p in processes {
            let parent = p.start?["parentPuid"]?.uint ?? 0
            if parent != 0, self.process(parent) != nil {
                kids[parent, default: []].append(p.header.puid)
            } else {
                roots.append(p)
            }
        }
        var out: [ProcessTrace] = []
        var seen: Set<UInt64> = []
        func walk(_ puid: UInt64) {
            guard seen.insert(puid).inserted, let p = self.process(puid) else { return }
            out.append(p)
            for c in (kids[puid] ?? []).sorted(by: { (forkSeq[$0] ?? .max, $0) < (forkSeq[$1] ?? .max, $1) }) { walk(c) }
        }
        for r in roots.sorted(by: { ($0.start?.time ?? 0, $0.header.puid) < ($1.start?.time ?? 0, $1.header.puid) }) { walk(r.header.puid) }
        for p in processes where !seen.contains(p.header.puid) { out.append(p) }
        return out
    }

    /// True when the trace records `puid`'s end: an `exit` or `crash`, or a join that reaped it.
    func hasEnded(_ puid: UInt64, joined: Set<UInt64>) -> Bool {
        if joined.contains(puid) { return true }
        return process(puid)?.events.last?.isEnd ?? false
    }

    /// The wait-for graph where the trace ends (a running program's trace: now).
    public func waitGraph() -> WaitGraph {
        let order = processTree
        let uses = ChannelUses(order)
        let live = Set(order.map(\.header.puid).filter { !hasEnded($0, joined: uses.joined) })
        var waits: [OpenWait] = []
        // A process whose tracing stopped (`traceCut`) went on unrecorded: its open waits may
        // have ended, so it counts as running.
        for p in order where live.contains(p.header.puid) && !p.wasCut {
            for b in p.openWaits {
                waits.append(uses.resolve(b, of: p.header.puid, live: live))
            }
        }
        return WaitGraph.solve(waits, live: live, order: order.map(\.header.puid))
    }
}

extension ProcessTrace {
    /// The `waitBegin` events no `waitEnd` (of the same kind and object) closed, oldest first.
    var openWaits: [TraceEvent] {
        var open: [TraceEvent] = []
        for e in events {
            switch e.kind {
            case .waitBegin: open.append(e)
            case .waitEnd:
                if let i = open.lastIndex(where: { $0["what"] == e["what"] && $0["object"] == e["object"] }) { open.remove(at: i) }
            default: break
            }
        }
        return open
    }
}

extension WaitGraph {
    static func solve(_ waits: [OpenWait], live: Set<UInt64>, order: [UInt64]) -> WaitGraph {
        var blockedBy: [UInt64: [OpenWait]] = [:]
        for w in waits { blockedBy[w.puid, default: []].append(w) }
        // A process goes on if it is not blocked, or if one of its waits can end: unknown
        // satisfiers, or a satisfier that goes on. (A process blocked on several waits at once
        // has several threads: one that can go on is enough.)
        var goes = live.subtracting(blockedBy.keys)
        var changed = true
        while changed {
            changed = false
            for (puid, ws) in blockedBy where !goes.contains(puid) {
                if ws.contains(where: { !$0.known || $0.satisfiers.contains(where: goes.contains) }) {
                    goes.insert(puid)
                    changed = true
                }
            }
        }
        let never = order.filter { blockedBy[$0] != nil && !goes.contains($0) }
        let neverSet = Set(never)
        var edges: [UInt64: [UInt64]] = [:]
        for p in never {
            for w in blockedBy[p]! { for s in w.satisfiers where neverSet.contains(s) && !(edges[p]?.contains(s) ?? false) { edges[p, default: []].append(s) } }
        }
        let cycles = stronglyConnected(never, edges)
        let inCycle = Set(cycles.joined())
        let stuck = never.flatMap { p in blockedBy[p]!.filter { $0.known && $0.satisfiers.isEmpty && !inCycle.contains(p) } }
        let stuckSet = Set(stuck.map(\.puid))
        let behind = never.filter { !inCycle.contains($0) && !stuckSet.contains($0) }
        return WaitGraph(waits: waits, live: live, cycles: cycles, stuck: stuck, behind: behind)
    }

    /// Tarjan's strongly connected components of size > 1 (or a process waiting for itself),
    /// each rotated to start at its first process in `order`, listed in the order of their first process.
    static func stronglyConnected(_ order: [UInt64], _ edges: [UInt64: [UInt64]]) -> [[UInt64]] {
        var index: [UInt64: Int] = [:], low: [UInt64: Int] = [:], onStack: Set<UInt64> = [], stack: [UInt64] = []
        var next = 0
        var out: [[UInt64]] = []
        func visit(_ v: UInt64) {
            index[v] = next; low[v] = next; next += 1
            stack.append(v); onStack.insert(v)
            for w in edges[v] ?? [] {
                if index[w] == nil { visit(w); low[v] = min(low[v]!, low[w]!) } else if onStack.contains(w) { low[v] = min(low[v]!, index[w]!) }
            }
            guard low[v] == index[v] else { return }
            var comp: [UInt64] = []
            while let w = stack.popLast() {
                onStack.remove(w)
                comp.append(w)
                if w == v { break }
            }
            if comp.count > 1 || (edges[v] ?? []).contains(v) { out.append(comp) }
        }
        for v in order where index[v] == nil { visit(v) }
        let rank = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        // Each cycle in wait-for order from its first process: follow edges inside the component.
        let cycles = out.map { comp -> [UInt64] in
            let set = Set(comp)
            var cycle = [comp.min { rank[$0]! < rank[$1]! }!]
            while let n = (edges[cycle.last!] ?? []).first(where: { set.contains($0) && !cycle.contains($0) }) { cycle.append(n) }
            return cycle
        }
        return cycles.sorted { rank[$0[0]]! < rank[$1[0]]! }
    }
}
