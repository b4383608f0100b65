import ForklineTraceFormat

/// A whole trace: every process's events, and the files that could not be read.
///
/// Load one with ``Trace/load(path:)``, check it with ``check(_:)``, and ask it ordering
/// questions in tests with ``Trace/happensBefore(_:_:)``.
public struct Trace: Sendable {
    /// One entry per process, in load order (files sorted by name, JSON Lines in file order).
    public private(set) var processes: [ProcessTrace]
    /// Load-level problems: files that could not be read at all (a damaged header, not a trace,
    /// a newer format version), one message each. Damage inside a readable file is in its
    /// process's `damage` instead.
    public var unreadable: [String]
    /// The names of the hosts whose ids the processes' headers carry (from the trace
    /// directory's `.host` files, or the directory names given to ``Trace/load(paths:)``).
    public var hostNames: [UInt64: String]

    /// Process index by puid (the first file wins when two name one puid).
    let index: [UInt64: Int]
    /// The causal graph, built on the first ordering question.
    let causal: CausalCache

    /// Creates a trace from processes (for tests and tools).
    public init(processes: [ProcessTrace], unreadable: [String] = [], hostNames: [UInt64: String] = [:]) {
        self.processes = processes
        self.unreadable = unreadable
        self.hostNames = hostNames
        var index: [UInt64: Int] = [:]
        index.reserveCapacity(processes.count)
        for (i, p) in processes.enumerated() where index[p.header.puid] == nil { index[p.header.puid] = i }
        self.index = index
        causal = CausalCache()
    }

    /// The load-level problems and every process's damage, as messages.
    public var problems: [String] {
        unreadable + processes.flatMap { p in p.damage.map { "\(p.source): \($0)" } }
    }

    /// The process with this unique id.
    public func process(_ puid: UInt64) -> ProcessTrace? { index[puid].map { processes[$0] } }

    /// The first process whose `start` gives it this name (`"main"`, `"Process-1"`).
    public func process(named name: String) -> ProcessTrace? { processes.first { $0.name == name } }

    /// Every process whose `start` gives it this name.
    public func processes(named name: String) -> [ProcessTrace] { processes.filter { $0.name == name } }

    /// The process with this pid (pids are reused: the first one loaded).
    public func process(pid: Int32) -> ProcessTrace? { processes.first { $0.header.pid == pid } }

    /// Every event of `kind`, process by process, in each process's order.
    public func events(kind: EventKind) -> [TraceEvent] {
        processes.flatMap { $0.events.filter { $0.kind == kind } }
    }

    /// Every event of `kind` (the same as ``events(kind:)``).
    public func events(_ kind: EventKind) -> [TraceEvent] { events(kind: kind) }

    /// All events, process by process.
    public var allEvents: [TraceEvent] { processes.flatMap(\.events) }

    /// The event with this id.
    public func event(_ id: EventID) -> TraceEvent? {
        guard let p = process(id.puid) else { return nil }
        return p.position(of: id.seq).map { p.events[$0] }
    }

    /// Children whose `start` names `puid` as their parent (the logical parent: for forkserver
    /// children, the process that asked for them, not the forkserver).
    public func children(of puid: UInt64) -> [ProcessTrace] {
        processes.filter { $0.start?.parentPuid == puid && $0.header.puid != puid }
    }

    /// Children of `process` (see ``children(of:)-(UInt64)``).
    public func children(of process: ProcessTrace) -> [ProcessTrace] { children(of: process.header.puid) }

    /// The logical parent of `process`, if it is in the trace.
    public func parent(of process: ProcessTrace) -> ProcessTrace? {
        guard let p = process.start?.parentPuid, p != 0 else { return nil }
        return self.process(p)
    }

    /// Number of events.
    public var eventCount: Int { processes.reduce(0) { $0 + $1.events.count } }
}

extension ProcessTrace {
    /// The process's `start` event, if its first event is one.
    public var start: TraceEvent? { events.first.flatMap { $0.kind == .start ? $0 : nil } }
    /// The name its `start` gives, or `"?"`.
    public var name: String { start?["name"]?.string ?? "?" }
    /// How it was started.
    public var method: StartMethod? { start?.startMethod }
    /// Its `exit` or `crash` event, if it recorded one.
    public var end: TraceEvent? { events.last { $0.isEnd } }
    /// Whether its recording stopped early (a full disk): it recorded a `traceCut`.
    public var wasCut: Bool { events.contains { $0.kind == .traceCut } }
    /// Its executable mappings (from its own `modules` event).
    public var modules: [Module]? { events.first { $0.kind == .modules }?["modules"]?.modules }

    /// The position in `events` of the event with sequence number `seq` (usually `seq` itself;
    /// a binary search otherwise, falling back to a scan for a damaged, unsorted file).
    func position(of seq: UInt64) -> Int? {
        if seq < UInt64(events.count), events[Int(seq)].seq == seq { return Int(seq) }
        var lo = 0, hi = events.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if events[mid].seq < seq { lo = mid + 1 } else { hi = mid }
        }
        if lo < events.count, events[lo].seq == seq { return lo }
        return events.firstIndex { $0.seq == seq }
    }
}
