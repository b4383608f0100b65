/// What a blocked process waits on: the `what` argument of `waitBegin` and `waitEnd`.
///
/// Raw values are the wire format (docs/trace-format.md, "Waits"): never renumber them.
public enum WaitKind: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// A contended `Lock`: `object` is the lock id, `ref` the generation it saw (the hold it waits behind).
    case lock = 0
    /// A contended `RLock` (as `lock`).
    case rlock = 1
    /// A `Semaphore` with no unit left: `ref` is the ticket it saw.
    case semaphore = 2
    /// A receive on a `Connection` with nothing to read: `object` is the channel id.
    case channel = 3
    /// A `get` on an empty queue: `object` is the queue id.
    case queueGet = 4
    /// A `put` on a full queue: `object` is the queue id.
    case queuePut = 5
    /// A `join` of a child still running: `object` is the child's puid, `ref` its pid.
    case child = 6
    /// A `Barrier` wait: `ref` is the round.
    case barrier = 7
    /// A `Condition` wait: `ref` is the condition's state counter.
    case condition = 8
    /// An `Event` wait on a clear event: `ref` is its generation.
    case event = 9
    /// A `JoinableQueue.join` with items not yet done.
    case queueJoin = 10

    public var description: String {
        switch self {
        case .lock: "lock"
        case .rlock: "rlock"
        case .semaphore: "semaphore"
        case .channel: "channel"
        case .queueGet: "queue get"
        case .queuePut: "queue put"
        case .child: "child"
        case .barrier: "barrier"
        case .condition: "condition"
        case .event: "event"
        case .queueJoin: "queue join"
        }
    }
}

/// How a wait ended: the `outcome` argument of `waitEnd`.
public enum WaitOutcome: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// It got what it waited for (the lock, a message, the child's status, ...).
    case done = 0
    /// Its timeout passed first.
    case timedOut = 1
    /// It ended otherwise: the channel closed or broke, the barrier broke, an error was thrown.
    case failed = 2

    public var description: String {
        switch self {
        case .done: "done"
        case .timedOut: "timed out"
        case .failed: "failed"
        }
    }
}
