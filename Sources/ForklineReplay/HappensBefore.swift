import ForklineTraceFormat
import Synchronization

/// The causal edges between processes, built once per trace: a fork to its child's start, a
/// request to the forkserver's fork, a child's last event to each join that names it, a send to
/// the recv that names it, a lock's release to the next generation's acquire. Program order
/// supplies the edges within a process.
public struct CausalGraph: Sendable {
    /// Per process (by index in ``Trace/processes``): its outgoing cross edges as (position of the
    /// source event, target process index, target position), sorted by source position.
    let edges: [[(from: Int, toProcess: Int, toPosition: Int)]]

    init(_ trace: Trace) {
        var edges = [[(from: Int, toProcess: Int, toPosition: Int)]](repeating: [], count: trace.processes.count)
        // Forks by request, joins by child.
        var forkByRequest: [EventID: (Int, Int)] = [:]
        var joinsOf: [UInt64: [(Int, Int)]] = [:]
        var recvsOf: [EventID: [(Int, Int)]] = [:]
        var acquireOf: [LockHold: (Int, Int)] = [:]
        for (pi, p) in trace.processes.enumerated() {
            for (i, e) in p.events.enumerated() {
                if e.kind == .fork, let r = e.requestID { forkByRequest[r] = (pi, i) }
                if e.kind == .lockAcquire, let l = e.arg(Arg.lock)?.uint, let g = e.arg(Arg.generation)?.uint {
                    acquireOf[LockHold(lock: l, generation: g)] = (pi, i)
                }
                if e.kind == .recv, let sender = e.arg(Arg.senderPuid)?.uint, let seq = e.arg(Arg.sendSeq)?.uint {
                    recvsOf[EventID(puid: sender, seq: seq), default: []].append((pi, i))
                }
                if e.kind == .join, let c = e.childPuid { joinsOf[c, default: []].append((pi, i)) }
            }
        }
        for (pi, p) in trace.processes.enumerated() {
            for (i, e) in p.events.enumerated() {
                switch e.kind {
                case .fork:
                    if let c = e.childPuid, let ci = trace.index[c], trace.processes[ci].start != nil {
                        edges[pi].append((i, ci, 0))
                    }
                case .request:
                    if let (fp, fi) = forkByRequest[e.id] { edges[pi].append((i, fp, fi)) }
                case .send:
                    for (rp, ri) in recvsOf[e.id] ?? [] { edges[pi].append((i, rp, ri)) }
                case .lockRelease:
                    // A release hands the lock to the next generation's acquire.
                    if let l = e.arg(Arg.lock)?.uint, let g = e.arg(Arg.generation)?.uint, g < .max, let (ap, ai) = acquireOf[LockHold(lock: l, generation: g + 1)] {
                        edges[pi].append((i, ap, ai))
                    }
                default:
                    break
                }
            }
            if let last = p.events.indices.last {
                for (jp, ji) in joinsOf[p.header.puid] ?? [] { edges[pi].append((last, jp, ji)) }
            }
        }
        SyncEdges.add(trace, &edges)
        // Join edges leave from each process's last event and synchronisation edges are added
        // after the scan: restore the order by source position that readers rely on.
        for pi in edges.indices { edges[pi].sort { $0.from < $1.from } }
        self.edges = edges
    }

    /// True when the event at (`ap`, `ai`) reaches the one at (`bp`, `bi`) along program order
    /// and cross edges. Each process is entered at the earliest position reached so far, and each
    /// edge is followed at most once: linear in the edges.
    func reaches(_ ap: Int, _ ai: Int, _ bp: Int, _ bi: Int) -> Bool {
        if ap == bp, ai < bi { return true }
        // entered[p]: the earliest position reached in p; scanned[p]: edges from positions >= it
        // have been followed.
        var entered: [Int: Int] = [ap: ai]
        var scanned: [Int: Int] = [:]
        var work = [ap]
        while let p = work.popLast() {
            guard let from = entered[p] else { continue }
            let upTo = scanned[p] ?? Int.max
            scanned[p] = from
            for edge in edges[p] where edge.from >= from && edge.from < upTo {
                let (q, at) = (edge.toProcess, edge.toPosition)
                if q == bp, at <= bi { return true }
                if let e = entered[q], e <= at { continue }
                entered[q] = at
                work.append(q)
            }
        }
        return false
    }
}

/// Holds a trace's causal graph once built; shared by copies of the trace.
final class CausalCache: Sendable {
    let graph = Mutex<CausalGraph?>(nil)
}

extension Trace {
    /// The causal graph, built on first use.
    public var causalGraph: CausalGraph {
        causal.graph.withLock { g in
            if let g { return g }
            let built = CausalGraph(self)
            g = built
            return built
        }
    }

    /// True when `a` happens before `b` by the trace's causal references: program order, a fork
    /// to its child's start, a request to the forkserver's fork, a child's last event to its
    /// join. Clocks are never compared, so two events with no causal path are unordered (both
    /// `happensBefore(a, b)` and `happensBefore(b, a)` are false).
    public func happensBefore(_ a: EventID, _ b: EventID) -> Bool {
        guard a != b, let ap = index[a.puid], let bp = index[b.puid],
              let ai = processes[ap].position(of: a.seq), let bi = processes[bp].position(of: b.seq) else { return false }
        return causalGraph.reaches(ap, ai, bp, bi)
    }

    /// True when neither event happens before the other.
    public func areConcurrent(_ a: EventID, _ b: EventID) -> Bool {
        a != b && !happensBefore(a, b) && !happensBefore(b, a)
    }
}

/// One hold of a lock: the lock and the generation its acquire recorded.
struct LockHold: Hashable {
    var lock: UInt64
    var generation: UInt64
}
