import ForklineTraceFormat

/// Checks DESIGN.md's invariants 1-3 on `trace` and collects every violation (it never stops at
/// the first):
///
/// 1. Every fork has exactly one start in the child (or a `startFailed`), after the fork; a
///    forkserver fork names the `request` that asked for it.
/// 2. Per-process sequence numbers and times increase; nothing follows an exit or crash.
/// 3. Every child is joined by its logical parent exactly once, after the child's last event,
///    with the status the child's own end implies; children left unjoined are reported.
///
/// Damage the loader found is reported as ``Violation/Rule/damaged`` and the rest is still
/// checked. The work is linear in the number of events (dictionaries keyed by puid and event id).
public func check(_ trace: Trace) -> CheckReport {
    var checker = Checker(trace)
    return checker.run()
}

extension Trace {
    /// Checks invariants 1-3: the same as ``check(_:)``.
    public func check() -> CheckReport { ForklineReplay.check(self) }
}

/// One run of the checker: indexes built in one pass over the events, then the rules.
struct Checker {
    let trace: Trace
    var violations: [Violation] = []
    var notes: [String] = []

    /// Fork events by their own id.
    var forks: [EventID: TraceEvent] = [:]
    /// Fork events in trace order.
    var forkList: [TraceEvent] = []
    /// Forked children's puids, and the fork that names each (its last).
    var forked: Set<UInt64> = []
    var forkOf: [UInt64: TraceEvent] = [:]
    /// Request events by their own id.
    var requests: [EventID: TraceEvent] = [:]
    /// Children whose start failed.
    var startFailed: Set<UInt64> = []
    /// Joins naming each child, in trace order; `joinOrder` keeps the children's first-seen order.
    var joins: [UInt64: [TraceEvent]] = [:]
    var joinOrder: [UInt64] = []
    /// Signals sent to each child (kill, terminate).
    var signals: [UInt64: [Int32]] = [:]
    /// Processes (puids) whose start names each fork.
    var startsByFork: [EventID: [UInt64]] = [:]
    /// Each process's `exit` or `crash` (its last one), and the processes whose trace was cut:
    /// found in the one pass, since `ProcessTrace.end` scans a killed process's whole list.
    var ends: [UInt64: TraceEvent] = [:]
    var cut: Set<UInt64> = []
    /// The sequence number of each cut process's `traceCut`.
    var cutSeqs: [UInt64: UInt64] = [:]

    init(_ trace: Trace) { self.trace = trace }

    mutating func run() -> CheckReport {
        index()
        damage()
        for p in trace.processes { checkProcess(p) }
        checkForks()
        checkJoins()
        checkMissingJoins()
        trace.checkMessages(&violations, &notes)
        trace.checkCausality(&violations)
        trace.checkLocks(&violations)
        trace.checkSync(&violations)
        trace.checkPools(&violations, &notes)
        trace.checkDeadlocks(&violations, &notes)
        explainCuts()
        return CheckReport(violations: violations, processes: trace.processes.count, events: trace.eventCount, notes: notes)
    }

    mutating func add(_ rule: Violation.Rule, _ message: String, _ events: [TraceEvent] = [], pids: [Int32] = []) {
        violations.append(Violation(rule, message, events, pids: pids))
    }

    /// One pass over every event.
    mutating func index() {
        for p in trace.processes {
            let first = trace.process(p.header.puid).map { $0.source == p.source } ?? true
            // By index, looking at the kind first: copying each event out of the array would
            // retain its arguments, once per event of a million.
            let events = p.events
            for i in events.indices {
                switch events[i].kind {
                case .exit, .crash, .traceCut, .fork, .request, .startFailed, .join, .kill, .terminate: break
                default: continue
                }
                let e = events[i]
                if first {
                    if e.isEnd { ends[p.header.puid] = e }
                    if e.kind == .traceCut {
                        cut.insert(p.header.puid)
                        if cutSeqs[p.header.puid] == nil { cutSeqs[p.header.puid] = e.seq }
                    }
                }
                switch e.kind {
                case .fork:
                    forks[e.id] = e
                    forkList.append(e)
                    if let c = e.childPuid { forked.insert(c); forkOf[c] = e }
                case .request:
                    requests[e.id] = e
                case .startFailed:
                    if let c = e.childPuid { startFailed.insert(c) }
                case .join:
                    guard let c = e.childPuid else { continue }
                    if joins[c] == nil { joinOrder.append(c) }
                    joins[c, default: []].append(e)
                case .kill, .terminate:
                    if let c = e.childPuid, let s = e.signalNumber { signals[c, default: []].append(s) }
                default:
                    break
                }
            }
            if let start = p.start, let f = start.forkID, f.puid != 0 {
                startsByFork[f, default: []].append(p.header.puid)
            }
        }
    }

    /// The loader's findings: unreadable files, damaged records, two files for one process.
    mutating func damage() {
        for u in trace.unreadable { add(.damaged, u) }
        var seen: Set<UInt64> = []
        for p in trace.processes {
            for d in p.damage { add(.damaged, "\(p.source): \(d)", pids: [p.header.pid]) }
            for i in p.events.indices where p.events[i].kind == .eventTruncated { notes.append(trace.truncationNote(p, p.events[i])) }
            // A record left half-written is what dying mid-write looks like: expected of a
            // process that crashed or was killed (no end recorded), damage after a clean exit.
            let endedAbruptly = p.interrupted.isEmpty ? false
                : p.events.last.map { $0.kind == .crash || $0.kind == .traceCut } ?? true || !p.events.contains { $0.kind == .exit }
            for d in p.interrupted {
                if endedAbruptly {
                    notes.append("\(label(p)) died while writing a record (\(p.source): \(d))")
                } else {
                    add(.damaged, "\(p.source): \(d)", pids: [p.header.pid])
                }
            }
            if !seen.insert(p.header.puid).inserted {
                add(.damaged, "\(p.source): a second file for process \(hex16(p.header.puid)); only the first is checked",
                    pids: [p.header.pid])
            }
        }
    }

    func label(_ p: ProcessTrace) -> String { trace.label(p) }

    /// `p.end`, without a scan.
    func end(of p: ProcessTrace) -> TraceEvent? { ends[p.header.puid] }

    /// `p.wasCut`, without a scan.
    func wasCut(_ p: ProcessTrace) -> Bool { cut.contains(p.header.puid) }

    func label(child puid: UInt64, pid: Int64?) -> String {
        if let p = trace.process(puid) { return label(p) }
        return "child \(hex16(puid)) (pid \(pid ?? 0))"
    }
}

extension Trace {
    /// What an `eventTruncated` record says, as a note of `check`.
    func truncationNote(_ p: ProcessTrace, _ e: TraceEvent) -> String {
        let kind = (e["kind"]?.uint).flatMap { UInt16(exactly: $0) }.flatMap(EventKind.init(rawValue:))?.name ?? "unknown-kind"
        let needed = e["needed"]?.uint ?? 0
        if e["recorded"]?.uint == 1 {
            return "\(label(p)): \(kind) #\(e["seq"]?.uint ?? 0) (\(needed) bytes) was over the trace format's limits and is recorded cut short"
        }
        return "\(label(p)): a \(kind) event of \(needed) bytes was over the trace format's limits (\(PayloadCodec.maxPayload) bytes a record) and was dropped"
    }

    /// "process NAME (pid N)", as violation messages name processes.
    func label(_ p: ProcessTrace) -> String { "process \(p.name) (pid \(p.header.pid))" }
}
