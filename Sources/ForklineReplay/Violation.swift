import ForklineTraceFormat

/// A broken invariant, with the events and processes involved.
public struct Violation: Sendable, Hashable, CustomStringConvertible {
    /// Stable rule ids (docs/replay.md lists them); `rawValue` is the id printed and matched by
    /// the golden fixtures' `.expect` files.
    public enum Rule: String, Sendable, Hashable, CaseIterable, Codable {
        /// A file or record could not be read; the rest is still checked.
        case damaged
        /// A process's first event is not `start`.
        case noStart = "no-start"
        /// A process records a second `start`, or two processes start from one fork.
        case duplicateStart = "duplicate-start"
        /// A `start` names a fork that is not in the trace, or that forked another child.
        case startWithoutFork = "start-without-fork"
        /// A child's `start` is earlier than its `fork`.
        case startBeforeFork = "start-before-fork"
        /// A `fork` whose child recorded neither `start` nor `startFailed`.
        case forkWithoutStart = "fork-without-start"
        /// A forkserver `fork` names a `request` that is not in the trace or asked for another child.
        case forkWithoutRequest = "fork-without-request"
        /// A child's `start` names a logical parent other than the one its fork implies.
        case wrongParent = "wrong-parent"
        /// Sequence numbers or times do not increase within a process.
        case order
        /// An event after the process's `exit` or `crash`.
        case afterEnd = "after-end"
        /// A child its parent never joined.
        case missingJoin = "missing-join"
        /// A join earlier than the child's last event.
        case joinBeforeEnd = "join-before-end"
        /// A child joined more than once.
        case doubleJoin = "double-join"
        /// A process joined a child that is not its own.
        case joinNotParent = "join-not-parent"
        /// A join names a process that is not in the trace.
        case joinUnknownChild = "join-unknown-child"
        /// The status a join observed differs from the child's own end.
        case statusMismatch = "status-mismatch"
        /// A `recv` names a send that the trace does not hold on that channel.
        case recvWithoutSend = "recv-without-send"
        /// A `recv` happens before the send it names, by the causal references (a cycle).
        case recvBeforeSend = "recv-before-send"
        /// One message received twice.
        case duplicateRecv = "duplicate-recv"
        /// One process received one sender's messages on one channel out of send order.
        case outOfOrderRecv = "out-of-order-recv"
        /// A message never received although a later one of the same sender on the same channel
        /// was, and no process that could have taken it died.
        case lostMessage = "lost-message"
        /// A `recv` records another size than its `send`.
        case sizeMismatch = "size-mismatch"
        /// Events that each depend on the other by the causal references, where no rule of its
        /// own (a join, start, recv, lock, barrier or semaphore hand-off) explains the cycle.
        case causalCycle = "causal-cycle"
        /// Two processes held one lock at once (invariant 5).
        case overlappingHolds = "overlapping-holds"
        /// A semaphore had more holds than its capacity (its initial value plus the releases so
        /// far), replayed in the order of its tickets (invariant 5).
        case semaphoreOverCapacity = "semaphore-over-capacity"
        /// A party left a barrier round before every party of that round arrived (invariant 5).
        case barrierEarlyRelease = "barrier-early-release"
        /// A submitted pool task has no delivered result or failure (invariant 6).
        case poolTaskLost = "pool-task-lost"
        /// A pool task was delivered more than once.
        case poolDuplicateResult = "pool-duplicate-result"
        /// A pool task began in a worker more than once, or was delivered as run without running.
        case poolTaskRerun = "pool-task-rerun"
        /// A pool task was dispatched again without being shown as a retry after its worker left.
        case poolUnannouncedRetry = "pool-unannounced-retry"
        /// An ordered call (`map`, `imap`) delivered its results out of input order.
        case poolResultOrder = "pool-result-order"
        /// A worker ran more tasks than the pool's `maxTasksPerChild`.
        case poolOverMaxTasks = "pool-over-max-tasks"
        /// Processes blocked where the trace ends, each waiting for the next (a lock another
        /// holds, a message another must send, a child's end): a wait-for cycle.
        case deadlock
    }

    /// Which invariant is broken.
    public var rule: Rule
    /// What is wrong, in a sentence naming the processes.
    public var message: String
    /// The events involved, in the order the message names them.
    public var events: [TraceEvent]
    /// The processes involved (pids), the events' first, without repeats.
    public var pids: [Int32]

    /// Creates a violation; `pids` adds processes that no listed event belongs to.
    public init(_ rule: Rule, _ message: String, _ events: [TraceEvent] = [], pids extra: [Int32] = []) {
        self.rule = rule
        self.message = message
        self.events = events
        var seen: [Int32] = []
        for p in events.map(\.pid) + extra where !seen.contains(p) { seen.append(p) }
        pids = seen
    }

    /// The ids (process puid and sequence number) of ``events``.
    public var eventIDs: [EventID] { events.map(\.id) }

    /// The rule id as printed: `"double-join"`.
    public var ruleID: String { rule.rawValue }

    public var description: String {
        var s = "[\(rule.rawValue)] \(message)"
        if !pids.isEmpty { s += " (pids \(pids.map(String.init).joined(separator: ", ")))" }
        for e in events {
            s += "\n    \(e.kind.name) #\(e.seq) in pid \(e.pid) (\(hex16(e.puid))) at \(e.time) ns"
        }
        return s
    }
}

/// The result of checking a trace.
public struct CheckReport: Sendable {
    /// Every violation found (none when the trace is sound), in a stable order.
    public var violations: [Violation]
    /// Processes checked.
    public var processes: Int
    /// Events checked.
    public var events: Int
    /// Observations that are not violations (messages never received, with the channel's state).
    public var notes: [String]

    /// Creates a report.
    public init(violations: [Violation], processes: Int, events: Int, notes: [String] = []) {
        self.violations = violations
        self.processes = processes
        self.events = events
        self.notes = notes
    }

    /// True when every invariant holds.
    public var ok: Bool { violations.isEmpty }

    /// The distinct rule ids reported, sorted.
    public var rules: [String] { Array(Set(violations.map(\.rule.rawValue))).sorted() }

    /// The violations of one rule.
    public func violations(_ rule: Violation.Rule) -> [Violation] { violations.filter { $0.rule == rule } }
}
