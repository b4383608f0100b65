import ForklineTrace

/// A whole trace: every process's events, and what could not be read.
///
/// Load one with ``Trace/load(path:)``, check it with ``Trace/check()``, and ask it ordering
/// questions in tests with ``Trace/happensBefore(_:_:)``.
public struct Trace: Sendable {
    /// One entry per process, in load order (by file name).
    public var processes: [ProcessTrace]
    /// Files that could not be read at all (their header is damaged, or they are not traces).
    public var unreadable: [String]

    /// Creates a trace from processes (for tests and tools).
    public init(processes: [ProcessTrace], unreadable: [String] = []) {
        self.processes = processes
        self.unreadable = unreadable
        index = Dictionary(processes.enumerated().map { ($1.header.puid, $0) }, uniquingKeysWith: { a, _ in a })
    }

    let index: [UInt64: Int]

    /// The process with this unique id.
    public func process(_ puid: UInt64) -> ProcessTrace? { index[puid].map { processes[$0] } }

    /// Processes whose `start` names `name`.
    public func processes(named name: String) -> [ProcessTrace] {
        processes.filter { $0.name == name }
    }

    /// Every event of `kind`, process by process.
    public func events(_ kind: EventKind) -> [TraceEvent] {
        processes.flatMap { $0.events.filter { $0.kind == kind } }
    }

    /// All events.
    public var allEvents: [TraceEvent] { processes.flatMap(\.events) }

    /// The event with this id.
    public func event(_ id: EventID) -> TraceEvent? {
        process(id.puid)?.events.first { $0.seq == id.seq }
    }

    /// Children whose `start` names `puid` as their parent (the logical parent: for forkserver
    /// children, the process that asked for them).
    public func children(of puid: UInt64) -> [ProcessTrace] {
        processes.filter { $0.start?["parentPuid"]?.uint == puid && $0.header.puid != puid }
    }

    /// Number of events.
    public var eventCount: Int { processes.reduce(0) { $0 + $1.events.count } }
}

extension ProcessTrace {
    /// The process's `start` event, if its first event is one.
    public var start: TraceEvent? { events.first.flatMap { $0.kind == .start ? $0 : nil } }
    /// The name its `start` gives.
    public var name: String { start?["name"]?.string ?? "?" }
    /// How it was started.
    public var method: StartMethod? { start?["method"]?.uint.flatMap { StartMethod(rawValue: UInt8(truncatingIfNeeded: $0)) } }
    /// Its `exit` or `crash` event, if it recorded one.
    public var end: TraceEvent? { events.last { $0.kind == .exit || $0.kind == .crash } }
    /// Its executable mappings (from its own `modules` event).
    public var modules: [Module]? { events.first { $0.kind == .modules }?["modules"]?.modules }
}
