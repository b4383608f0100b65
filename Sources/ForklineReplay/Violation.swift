import ForklineTrace

/// A broken invariant, with the events and processes involved.
public struct Violation: Sendable, Hashable, CustomStringConvertible {
    /// Stable rule ids (docs/replay.md lists them).
    public enum Rule: String, Sendable, Hashable, CaseIterable, Codable {
        case damaged, forkWithoutStart = "fork-without-start", startWithoutFork = "start-without-fork"
        case startBeforeFork = "start-before-fork", noStart = "no-start", order
        case afterEnd = "after-end", missingJoin = "missing-join", joinBeforeEnd = "join-before-end"
        case doubleJoin = "double-join", joinNotParent = "join-not-parent", joinUnknownChild = "join-unknown-child"
        case statusMismatch = "status-mismatch"
    }

    public var rule: Rule
    public var message: String
    /// The events involved, in the order the message names them.
    public var events: [TraceEvent]

    public init(_ rule: Rule, _ message: String, _ events: [TraceEvent] = []) {
        self.rule = rule
        self.message = message
        self.events = events
    }

    public var description: String {
        var s = "[\(rule.rawValue)] \(message)"
        for e in events {
            s += "\n    \(e.kind.name) #\(e.seq) in pid \(e.pid) (\(hex16(e.puid))) at \(e.time) ns"
        }
        return s
    }
}

/// The result of checking a trace.
public struct CheckReport: Sendable {
    /// Every violation found (none when the trace is sound).
    public var violations: [Violation]
    /// Processes and events checked.
    public var processes: Int
    public var events: Int

    /// True when every invariant holds.
    public var ok: Bool { violations.isEmpty }
}
