/// One event of a trace.
public struct TraceEvent: Sendable, Hashable {
    /// What happened.
    public var kind: EventKind
    /// The process that recorded it.
    public var pid: Int32
    /// The recording process's unique id (pids are reused; puids are not).
    public var puid: UInt64
    /// Per-process sequence number, from 0, without gaps unless the trace is damaged.
    public var seq: UInt64
    /// CLOCK_MONOTONIC in nanoseconds.
    public var time: UInt64
    /// The arguments, in the order of `kind.arguments`.
    public var args: [TraceValue]

    /// Creates an event.
    public init(kind: EventKind, pid: Int32, puid: UInt64, seq: UInt64, time: UInt64, args: [TraceValue]) {
        self.kind = kind
        self.pid = pid
        self.puid = puid
        self.seq = seq
        self.time = time
        self.args = args
    }

    /// The argument called `name`, if this kind has one.
    public subscript(name: String) -> TraceValue? {
        guard let i = kind.arguments.firstIndex(where: { $0.name == name }), i < args.count else { return nil }
        return args[i]
    }

    /// This event's identity: the process and its sequence number.
    public var id: EventID { EventID(puid: puid, seq: seq) }
}

/// Names one event: the process's unique id and the event's sequence number in it.
public struct EventID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var puid: UInt64
    public var seq: UInt64

    public init(puid: UInt64, seq: UInt64) {
        self.puid = puid
        self.seq = seq
    }

    public static func < (a: EventID, b: EventID) -> Bool { (a.puid, a.seq) < (b.puid, b.seq) }

    public var description: String { "\(hex16(puid))#\(seq)" }
}

/// A 16-digit lower-case hexadecimal rendering of a process id.
package func hex16(_ v: UInt64) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 16 - s.count)) + s
}

/// An event argument's value.
public enum TraceValue: Sendable, Hashable {
    case int(Int64)
    case uint(UInt64)
    case string(String)
    case backtrace(Backtrace)
    case modules([Module])
    case status(ExitStatus)

    /// The value as a signed integer, if it is one.
    public var int: Int64? {
        switch self {
        case .int(let v): v
        case .uint(let v): Int64(exactly: v)
        default: nil
        }
    }

    /// The value as an unsigned integer, if it is one.
    public var uint: UInt64? {
        switch self {
        case .uint(let v): v
        case .int(let v): UInt64(exactly: v)
        default: nil
        }
    }

    /// The value as a string, if it is one.
    public var string: String? { if case .string(let s) = self { s } else { nil } }
    /// The value as a backtrace, if it is one.
    public var backtrace: Backtrace? { if case .backtrace(let b) = self { b } else { nil } }
    /// The value as an exit status, if it is one.
    public var status: ExitStatus? { if case .status(let s) = self { s } else { nil } }
    /// The value as a module list, if it is one.
    public var modules: [Module]? { if case .modules(let m) = self { m } else { nil } }
}

/// How a process ended: a value, not an error.
public enum ExitStatus: Sendable, Hashable, Codable, CustomStringConvertible {
    /// It exited with this code (0 is success).
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)

    /// True for `.exited(0)`.
    public var isSuccess: Bool { self == .exited(0) }

    public var description: String {
        switch self {
        case .exited(let c): "exited(\(c))"
        case .signaled(let s): "signaled(\(signalName(s)))"
        }
    }
}

/// `SIGKILL`-style name of a signal number, or the number.
package func signalName(_ s: Int32) -> String {
    let names: [Int32: String] = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
        8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
        14: "SIGALRM", 15: "SIGTERM",
    ]
    return names[s] ?? "signal \(s)"
}

/// Return addresses captured by libunwind, or the marker that none could be captured.
public struct Backtrace: Sendable, Hashable {
    /// The addresses, innermost first; `nil` when libunwind was unavailable.
    public var frames: [UInt64]?

    public init(frames: [UInt64]?) { self.frames = frames }

    /// The explicit "unavailable" marker.
    public static let unavailable = Backtrace(frames: nil)
}

/// An executable mapping of a process (from /proc/self/maps).
public struct Module: Sendable, Hashable {
    public var start: UInt64
    public var end: UInt64
    public var offset: UInt64
    public var path: String

    public init(start: UInt64, end: UInt64, offset: UInt64, path: String) {
        self.start = start
        self.end = end
        self.offset = offset
        self.path = path
    }
}
