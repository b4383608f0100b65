import ForklineTraceFormat

#if canImport(Glibc)
import Glibc
#endif

/// A trace cut short (a full disk, a file size limit) is missing events that the program did
/// record nowhere: the cut process's events after its `traceCut`, and the whole files of the
/// processes that could not create one on the same full disk. A rule that finds one of those
/// missing would report a correct program; these are told apart here.
extension Checker {
    /// Drops the violations whose missing counterpart the trace's cuts explain, and adds a note
    /// per cut, one for the processes with no file, and one counting what was explained.
    mutating func explainCuts() {
        guard !cutSeqs.isEmpty else { return }
        // The workers each pool task was sent to (the results rule names only the result).
        var workersOf: [TaskKey: [UInt64]] = [:]
        // The children asked of a forkserver: their fork is the server's record, missing when the
        // server's trace was cut or never written.
        var requested: Set<UInt64> = []
        for p in trace.processes {
            for e in p.events where e.kind == .poolDispatch || e.kind == .request {
                if e.kind == .request {
                    if let c = e.childPuid { requested.insert(c) }
                } else if let pool = e["pool"]?.uint, let task = e["task"]?.uint, let w = e["worker"]?.uint {
                    workersOf[TaskKey(pool: pool, task: task), default: []].append(w)
                }
            }
        }
        var explained: [Violation.Rule: Int] = [:]
        var kept: [Violation] = []
        kept.reserveCapacity(violations.count)
        for v in violations {
            if cutExplains(v, workersOf, requested) { explained[v.rule, default: 0] += 1 } else { kept.append(v) }
        }
        violations = kept
        for p in trace.processes {
            guard let s = cutSeqs[p.header.puid], let e = p.events.first(where: { $0.kind == .traceCut && $0.seq == s }) else { continue }
            let err = Int32(truncatingIfNeeded: e["errno"]?.int ?? 0)
            notes.append("\(label(p))'s trace was cut at #\(s) (\(String(cString: strerror(err))), errno \(err)): its later events are missing")
        }
        var named: Set<UInt64> = []
        for e in forkList { if let c = e.childPuid { named.insert(c) } }
        let missing = named.filter { trace.process($0) == nil }.count
        if missing > 0 {
            notes.append("\(missing) process(es) the trace names have no file: tracing could not start in them on the full trace file system")
        }
        if !explained.isEmpty {
            let list = explained.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue) x\($0.value)" }
            notes.append("\(explained.values.reduce(0, +)) missing event(s) explained by the cut are not violations (\(list.joined(separator: ", ")))")
        }
    }

    /// True when the event `id`, which a rule found missing, is explained by a cut: its process
    /// was cut (a process past its cut names its unrecorded events by the sequence number it
    /// would have had, or 0), or has no file at all while the trace was cut.
    func missingByCut(_ id: EventID) -> Bool { absentOrCut(id.puid) }

    /// True when a process has no file (or was cut) while the trace was cut.
    func absentOrCut(_ puid: UInt64) -> Bool { trace.process(puid) == nil || cutSeqs[puid] != nil }

    func cutExplains(_ v: Violation, _ workersOf: [TaskKey: [UInt64]], _ requested: Set<UInt64>) -> Bool {
        guard let e = v.events.first else { return false }
        switch v.rule {
        case .forkWithoutStart:
            return e.childPuid.map { trace.process($0) == nil } ?? false
        case .forkWithoutRequest:
            return e.requestID.map(missingByCut) ?? false
        case .startWithoutFork:
            return e.forkID.map(missingByCut) ?? false
        case .recvWithoutSend:
            guard let s = e["senderPuid"]?.uint, let q = e["sendSeq"]?.uint else { return false }
            return missingByCut(EventID(puid: s, seq: q))
        case .poolTaskRerun where e.kind == .poolResult:
            // "delivered as run, but no worker ran it to its end": the worker's events are missing.
            guard let pool = e["pool"]?.uint, let task = e["task"]?.uint else { return false }
            let workers = workersOf[TaskKey(pool: pool, task: task)] ?? []
            return workers.isEmpty ? cutSeqs[e.puid] != nil : workers.contains(where: absentOrCut)
        case .poolTaskLost:
            // Submitted, never delivered: the owner's result would have come after its cut.
            return cutSeqs[e.puid] != nil
        case .joinUnknownChild:
            // A child requested of a forkserver, joined, with neither its file nor the server's
            // fork record: the server's trace (or the child's) is what the cut lost.
            return e.kind == .join && e.childPuid.map { requested.contains($0) && trace.process($0) == nil } ?? false
        case .missingJoin:
            return v.events.first.map { absentOrCut($0.puid) } ?? false
        default:
            return false
        }
    }
}

/// A pool task, by pool and task id.
struct TaskKey: Hashable {
    var pool: UInt64
    var task: UInt64
}
