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
    /// The trace's sends by id, built for the send-to-recv edges; the checker's message rule
    /// reuses it.
    let sends: SendIndex

    init(_ trace: Trace) {
        var edges = [[(from: Int, toProcess: Int, toPosition: Int)]](repeating: [], count: trace.processes.count)
        // Forks by request, joins by child, acquires by hold; sends through the positional
        // ``SendIndex`` (the message-heavy part, kept free of hashing per event).
        var forkByRequest: [EventID: (Int, Int)] = [:]
        var joinsOf: [UInt64: [(Int, Int)]] = [:]
        var acquireOf: [LockHold: (Int, Int)] = [:]
        var sends = SendIndex(trace)
        // Per send (index in `sends.sends`): the first recv naming it, and any further ones.
        var firstRecv = [Position?](repeating: nil, count: sends.sends.count)
        var moreRecvs: [Int: [Position]] = [:]
        for (pi, p) in trace.processes.enumerated() {
            for i in p.events.indices {
                switch p.events[i].kind {
                case .fork:
                    if let r = p.events[i].requestID { forkByRequest[r] = (pi, i) }
                case .lockAcquire:
                    if let l = p.events[i].arg(Arg.lock)?.uint, let g = p.events[i].arg(Arg.generation)?.uint {
                        acquireOf[LockHold(lock: l, generation: g)] = (pi, i)
                    }
                case .recv:
                    // The send with that id, whatever its channel (as the graph always had it).
                    if let sender = p.events[i].arg(Arg.senderPuid)?.uint, let seq = p.events[i].arg(Arg.sendSeq)?.uint,
                       let n = sends.find(EventID(puid: sender, seq: seq)) {
                        if firstRecv[n] == nil { firstRecv[n] = Position(process: pi, position: i) }
                        else { moreRecvs[n, default: []].append(Position(process: pi, position: i)) }
                    }
                case .join:
                    if let c = p.events[i].childPuid { joinsOf[c, default: []].append((pi, i)) }
                default:
                    break
                }
            }
        }
        // `sends.sends` lists each file's sends in order, files in trace order: one cursor.
        var k = 0
        for (pi, p) in trace.processes.enumerated() {
            for i in p.events.indices {
                switch p.events[i].kind {
                case .send:
                    while k < sends.sends.count, sends.sends[k].process < pi || (sends.sends[k].process == pi && sends.sends[k].position < i) { k += 1 }
                    guard k < sends.sends.count, sends.sends[k].process == pi, sends.sends[k].position == i else { continue }
                    if let r = firstRecv[k] {
                        edges[pi].append((i, r.process, r.position))
                        for m in moreRecvs[k] ?? [] { edges[pi].append((i, m.process, m.position)) }
                    }
                case .fork:
                    if let c = p.events[i].childPuid, let ci = trace.index[c], trace.processes[ci].start != nil {
                        edges[pi].append((i, ci, 0))
                    }
                case .request:
                    if let (fp, fi) = forkByRequest[p.events[i].id] { edges[pi].append((i, fp, fi)) }
                case .lockRelease:
                    // A release hands the lock to the next generation's acquire.
                    if let l = p.events[i].arg(Arg.lock)?.uint, let g = p.events[i].arg(Arg.generation)?.uint, g < .max,
                       let (ap, ai) = acquireOf[LockHold(lock: l, generation: g + 1)] {
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
        for pi in edges.indices where !edges[pi].isSorted(by: \.from) { edges[pi].sort { $0.from < $1.from } }
        self.edges = edges
        self.sends = sends
    }

    /// True when the event at (`ap`, `ai`) reaches the one at (`bp`, `bi`) along program order
    /// and cross edges. Each process is entered at the earliest position reached so far, and each
    /// edge is followed at most once: linear in the edges.
    func reaches(_ ap: Int, _ ai: Int, _ bp: Int, _ bi: Int) -> Bool {
        Self.reaches(edges, ap, ai, bp, bi)
    }

    /// ``reaches(_:_:_:_:)`` over `edges` (in any order), for a graph still being built.
    static func reaches(_ edges: [[(from: Int, toProcess: Int, toPosition: Int)]], _ ap: Int, _ ai: Int, _ bp: Int, _ bi: Int) -> Bool {
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

extension Array {
    /// True when the elements are in non-decreasing order of `key` (a linear check that spares
    /// sorting an already ordered list).
    func isSorted(by key: (Element) -> Int) -> Bool {
        var last = Int.min
        for e in self {
            let k = key(e)
            if k < last { return false }
            last = k
        }
        return true
    }
}
