import ForklineTraceFormat

/// Positional access to the arguments the checker reads, without a name lookup per event.
///
/// The positions come from ``EventKind``'s argument table (computed once), so they stay right if
/// the table grows; an event whose `args` is too short (a damaged record) yields `nil`.
enum Arg {
    /// For each kind (by raw value), the index of the argument called `name`, or -1.
    static func positions(_ name: String) -> [Int] {
        let top = Int(EventKind.allCases.map(\.rawValue).max() ?? 0)
        var out = [Int](repeating: -1, count: top + 1)
        for k in EventKind.allCases {
            out[Int(k.rawValue)] = k.arguments.firstIndex { $0.name == name } ?? -1
        }
        return out
    }

    static let childPuid = positions("childPuid")
    static let childPid = positions("childPid")
    static let parentPuid = positions("parentPuid")
    static let forkerPuid = positions("forkerPuid")
    static let forkSeq = positions("forkSeq")
    static let requesterPuid = positions("requesterPuid")
    static let requestSeq = positions("requestSeq")
    static let method = positions("method")
    static let signal = positions("signal")
    static let code = positions("code")
    static let status = positions("status")
    static let name = positions("name")
    static let channel = positions("channel")
    static let channelKind = positions("kind")
    static let senderPuid = positions("senderPuid")
    static let sendSeq = positions("sendSeq")
    static let pool = positions("pool")
    static let task = positions("task")
    static let call = positions("call")
    static let index = positions("index")
    static let outcome = positions("outcome")
    static let ok = positions("ok")
    static let ordered = positions("ordered")
    static let lock = positions("lock")
    static let generation = positions("generation")
}

extension TraceEvent {
    /// The position in `args` that `table` gives for this event's kind, if the event has it.
    @inline(__always)
    func argIndex(_ table: [Int]) -> Int? {
        let raw = Int(kind.rawValue)
        guard raw < table.count else { return nil }
        let i = table[raw]
        return i >= 0 && i < args.count ? i : nil
    }

    @inline(__always)
    func arg(_ table: [Int]) -> TraceValue? { argIndex(table).map { args[$0] } }

    /// The child a fork, join, kill, terminate, request or startFailed names.
    var childPuid: UInt64? { arg(Arg.childPuid)?.uint }
    /// A start's logical parent (0 for a root process).
    var parentPuid: UInt64? { arg(Arg.parentPuid)?.uint }
    /// The fork event a start names.
    var forkID: EventID? {
        guard let p = arg(Arg.forkerPuid)?.uint, let s = arg(Arg.forkSeq)?.uint else { return nil }
        return EventID(puid: p, seq: s)
    }
    /// The request event a forkserver fork names, nil when the fork names none.
    var requestID: EventID? {
        guard let p = arg(Arg.requesterPuid)?.uint, p != 0, let s = arg(Arg.requestSeq)?.uint else { return nil }
        return EventID(puid: p, seq: s)
    }
    /// A fork's or start's method.
    var startMethod: StartMethod? {
        arg(Arg.method)?.uint.flatMap { UInt8(exactly: $0) }.flatMap(StartMethod.init(rawValue:))
    }
    /// A kill's, terminate's or crash's signal.
    var signalNumber: Int32? { arg(Arg.signal)?.int.map { Int32(truncatingIfNeeded: $0) } }
    /// An exit's code.
    var exitCode: Int32? { arg(Arg.code)?.int.map { Int32(truncatingIfNeeded: $0) } }
    /// A join's observed status.
    var observedStatus: ExitStatus? { arg(Arg.status)?.status }
    /// True for exit and crash.
    var isEnd: Bool { kind == .exit || kind == .crash }
}
