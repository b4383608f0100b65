/// The kinds of trace event, with the table that gives each kind's arguments.
///
/// The table is the format: a record's payload is its kind's arguments, in table order, encoded as
/// `docs/trace-format.md` describes. Adding a kind adds a row; the reader skips kinds it does not
/// know (a newer writer), reporting them, rather than failing.
public enum EventKind: UInt16, CaseIterable, Sendable, Codable {
    /// The first event of every process: names the parent and the fork that created it.
    case start = 1
    /// A process was created by this process (whatever the start method).
    case fork = 2
    /// The process is exiting normally with a code.
    case exit = 3
    /// The process received a crash signal; recorded by the crash writer before it dies.
    case crash = 4
    /// This process joined (reaped, or was told the status of) a child.
    case join = 5
    /// This process asked a child to terminate (SIGTERM).
    case terminate = 6
    /// This process killed a child (SIGKILL).
    case kill = 7
    /// This process asked the forkserver for a child; the server's `fork` names this event.
    case request = 8
    /// Executable mappings of the process, for symbolising its backtraces.
    case modules = 9
    /// A child could not be started; takes the place of its `start`.
    case startFailed = 10
    /// A user annotation (`Tracer.mark`).
    case mark = 11
    /// Tracing stopped here (disk full, read-only, ...): later events of this process are missing.
    case traceCut = 12
    /// A message was sent on a channel; the receiving side's `recv` names this event.
    case send = 13
    /// A message was received; names the `send` that sent it (sender's puid and sequence number).
    case recv = 14
    /// This process opened (created or inherited and first used) an end of a channel.
    case channelOpen = 15
    /// This process closed its end of a channel.
    case channelClose = 16
    /// This process acquired a lock: the lock's `generation` counts hand-offs, so holds are
    /// ordered without trusting clocks; `ownerDied` says the previous holder died holding it.
    case lockAcquire = 17
    /// This process released the lock it acquired at `generation`.
    case lockRelease = 18
    /// A JoinableQueue item was marked done; `unfinished` counts the items still not done.
    case queueTaskDone = 30
    /// A JoinableQueue's `join` returned: every item put before it had its `taskDone`.
    case queueJoin = 31

    // Waits (32-39): recorded only when a call has to block (the slow path).

    /// This thread began to block: `what` is a ``WaitKind`` (lock, semaphore, channel, ...),
    /// `object` the lock, channel, queue or child puid it waits on, `ref` what it saw (a lock's
    /// generation: the hold it waits behind; a barrier's round; 0 when nothing applies).
    case waitBegin = 32
    /// The wait this thread began on `what`/`object` ended: `outcome` is a ``WaitOutcome``. The
    /// event the wait produced (`lockAcquire`, `recv`, `join`, ...) comes right after it.
    case waitEnd = 33

    // Synchronisation primitives (19-29).

    /// A semaphore unit was taken: `ticket` numbers the semaphore's operations (kept in its shared
    /// memory), `value` is what it left, `capacity` the initial value.
    case semAcquire = 19
    /// A semaphore unit was given back (same arguments as `semAcquire`).
    case semRelease = 20
    /// An `RLock` was acquired: `generation` counts outermost hand-offs, `depth` is the holder's
    /// nesting after this acquire (1 for the outermost).
    case rlockAcquire = 21
    /// An `RLock` was released to `depth` (0: the lock is free).
    case rlockRelease = 22
    /// A party arrived at a barrier in `round` with arrival `index` (0-based).
    case barrierArrive = 23
    /// A party left a barrier because every party of `round` arrived.
    case barrierPass = 24
    /// A barrier broke in `round`, or a waiting party saw it broken: `reason` 0 raised in this
    /// party, 1 timeout, 2 abort, 3 reset, 4 a party died inside it.
    case barrierBroken = 25
    /// An event was set (`generation` counts the times it went from clear to set).
    case eventSet = 26
    /// A wait on an event returned: `ok` 1 when it saw the event set (at `generation`), 0 on timeout.
    case eventWait = 27
    /// A condition was notified: `state` is the condition's state counter after it, `count` how many
    /// waiters it may wake.
    case conditionNotify = 28
    /// A wait on a condition returned: `notified` 1 when a notification woke it (at `state`), 0 on timeout.
    case conditionWait = 29

    /// A pool was created: its id, worker count, `maxTasksPerChild` (0: unlimited), start method.
    case poolCreate = 40
    /// A task (one item, or a chunk of `count` items from input `index` of call `call`) was
    /// submitted to a pool; `ordered` is 1 when its call delivers results in input order.
    case poolSubmit = 41
    /// The pool sent a task to a worker (`worker` is its puid); `attempt` > 0 is a re-dispatch of
    /// a task whose earlier worker died before beginning it.
    case poolDispatch = 42
    /// A worker began running a task.
    case taskBegin = 43
    /// A worker finished a task (`ok` 0 when it threw).
    case taskEnd = 44
    /// The pool delivered a task's result to its caller; `outcome` says how it ended
    /// (0 value, 1 thrown error, 2 worker died, 3 timed out, 4 cancelled, 5 pool terminated,
    /// 6 no worker could start).
    case poolResult = 45
    /// A worker left the pool and another took its place; `reason`: 0 maxTasksPerChild,
    /// 1 died, 2 killed after a task timeout, 3 died while starting.
    case workerReplaced = 46
    /// The pool was closed (`terminate` 0) or terminated (1).
    case poolClose = 47

    // The recorder's own records (60-79).

    /// An event was past the format's size limits: `recorded` 1, the event `seq` was recorded
    /// with its strings or lists cut to their limits; 0, it was dropped. `needed` is the payload
    /// size in bytes the whole event would have taken, `kind` its kind.
    case eventTruncated = 60

    /// The name used in text formats (JSON Lines, reports).
    public var name: String { Self.table[Int(rawValue)]!.name }

    /// The arguments of this kind, in payload order.
    public var arguments: [ArgumentSpec] { Self.table[Int(rawValue)]!.arguments }

    /// The specs indexed by raw value (raw values may leave gaps: each area of the library owns a
    /// range): an array index on the recording path, not a hash lookup.
    package static let table: [(name: String, arguments: [ArgumentSpec])?] = {
        var t = [(name: String, arguments: [ArgumentSpec])?](repeating: nil, count: Int(allCases.map(\.rawValue).max()!) + 1)
        for k in allCases { t[Int(k.rawValue)] = specs[k]! }
        return t
    }()

    /// Looks a kind up by its text name.
    public init?(name: String) {
        guard let kind = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = kind
    }

    static let specs: [EventKind: (name: String, arguments: [ArgumentSpec])] = [
        .start: ("start", [
            .init("parentPuid", .u64), .init("parentPid", .i32), .init("forkerPuid", .u64),
            .init("forkSeq", .u64), .init("method", .u8), .init("name", .string), .init("entry", .string),
        ]),
        .fork: ("fork", [
            .init("childPid", .i32), .init("childPuid", .u64), .init("method", .u8), .init("entry", .string),
            .init("requesterPuid", .u64), .init("requestSeq", .u64), .init("backtrace", .frames),
        ]),
        .exit: ("exit", [.init("code", .i32)]),
        .crash: ("crash", [
            .init("signal", .i32), .init("code", .i32), .init("address", .u64), .init("pc", .u64),
            .init("backtrace", .frames),
        ]),
        .join: ("join", [.init("childPid", .i32), .init("childPuid", .u64), .init("status", .status)]),
        .terminate: ("terminate", [.init("childPid", .i32), .init("childPuid", .u64), .init("signal", .i32)]),
        .kill: ("kill", [.init("childPid", .i32), .init("childPuid", .u64), .init("signal", .i32)]),
        .request: ("request", [.init("childPuid", .u64), .init("entry", .string), .init("backtrace", .frames)]),
        .modules: ("modules", [.init("modules", .modules)]),
        .startFailed: ("startFailed", [.init("childPuid", .u64), .init("error", .string)]),
        .mark: ("mark", [.init("label", .string)]),
        .traceCut: ("traceCut", [.init("errno", .i32), .init("reserved", .i32)]),
        .send: ("send", [.init("channel", .u64), .init("size", .u64)]),
        .recv: ("recv", [.init("channel", .u64), .init("senderPuid", .u64), .init("sendSeq", .u64), .init("size", .u64)]),
        .channelOpen: ("channelOpen", [.init("channel", .u64), .init("kind", .u8)]),
        .channelClose: ("channelClose", [.init("channel", .u64)]),
        .lockAcquire: ("lockAcquire", [.init("lock", .u64), .init("generation", .u64), .init("ownerDied", .u8)]),
        .lockRelease: ("lockRelease", [.init("lock", .u64), .init("generation", .u64)]),
        .semAcquire: ("semAcquire", [.init("semaphore", .u64), .init("ticket", .u64), .init("value", .u64), .init("capacity", .u64)]),
        .semRelease: ("semRelease", [.init("semaphore", .u64), .init("ticket", .u64), .init("value", .u64), .init("capacity", .u64)]),
        .rlockAcquire: ("rlockAcquire", [.init("lock", .u64), .init("generation", .u64), .init("depth", .u64), .init("ownerDied", .u8)]),
        .rlockRelease: ("rlockRelease", [.init("lock", .u64), .init("generation", .u64), .init("depth", .u64)]),
        .barrierArrive: ("barrierArrive", [.init("barrier", .u64), .init("round", .u64), .init("index", .u64), .init("parties", .u64)]),
        .barrierPass: ("barrierPass", [.init("barrier", .u64), .init("round", .u64), .init("parties", .u64)]),
        .barrierBroken: ("barrierBroken", [.init("barrier", .u64), .init("round", .u64), .init("reason", .u8)]),
        .eventSet: ("eventSet", [.init("event", .u64), .init("generation", .u64)]),
        .eventWait: ("eventWait", [.init("event", .u64), .init("generation", .u64), .init("ok", .u8)]),
        .conditionNotify: ("conditionNotify", [.init("condition", .u64), .init("state", .u64), .init("count", .u64)]),
        .conditionWait: ("conditionWait", [.init("condition", .u64), .init("state", .u64), .init("notified", .u8)]),
        .queueTaskDone: ("queueTaskDone", [.init("queue", .u64), .init("unfinished", .u64)]),
        .queueJoin: ("queueJoin", [.init("queue", .u64)]),
        .waitBegin: ("waitBegin", [.init("what", .u8), .init("object", .u64), .init("ref", .u64)]),
        .waitEnd: ("waitEnd", [.init("what", .u8), .init("object", .u64), .init("outcome", .u8)]),
        .poolCreate: ("poolCreate", [
            .init("pool", .u64), .init("workers", .u64), .init("maxTasksPerChild", .u64), .init("method", .u8),
        ]),
        .poolSubmit: ("poolSubmit", [
            .init("pool", .u64), .init("task", .u64), .init("call", .u64), .init("index", .u64),
            .init("count", .u64), .init("ordered", .u8),
        ]),
        .poolDispatch: ("poolDispatch", [.init("pool", .u64), .init("task", .u64), .init("worker", .u64), .init("attempt", .u64)]),
        .taskBegin: ("taskBegin", [.init("pool", .u64), .init("task", .u64)]),
        .taskEnd: ("taskEnd", [.init("pool", .u64), .init("task", .u64), .init("ok", .u8)]),
        .poolResult: ("poolResult", [
            .init("pool", .u64), .init("task", .u64), .init("call", .u64), .init("index", .u64), .init("outcome", .u8),
        ]),
        .workerReplaced: ("workerReplaced", [.init("pool", .u64), .init("old", .u64), .init("new", .u64), .init("reason", .u8)]),
        .poolClose: ("poolClose", [.init("pool", .u64), .init("terminate", .u8)]),
        .eventTruncated: ("eventTruncated", [.init("kind", .u64), .init("needed", .u64), .init("seq", .u64), .init("recorded", .u8)]),
    ]
}

/// One argument of an event kind.
public struct ArgumentSpec: Sendable, Hashable {
    /// The argument's name in text formats.
    public let name: String
    /// How it is encoded.
    public let type: ArgumentType

    init(_ name: String, _ type: ArgumentType) {
        self.name = name
        self.type = type
    }
}

/// Wire types of event arguments (docs/trace-format.md).
public enum ArgumentType: UInt8, Sendable, Hashable {
    /// 1 byte unsigned.
    case u8
    /// 4 bytes signed, little-endian.
    case i32
    /// 8 bytes unsigned, little-endian.
    case u64
    /// u16 length, then that many UTF-8 bytes.
    case string
    /// u16 count (0xFFFF: unavailable), then count u64 return addresses.
    case frames
    /// u16 count, then per module: start u64, end u64, file offset u64, path string.
    case modules
    /// u8 (0 exited, 1 signaled), then i32 code or signal.
    case status
}

/// How a child process was started.
public enum StartMethod: UInt8, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// `fork()`; the child runs a closure or an entry point in a copy of the parent.
    case fork = 0
    /// `posix_spawn` of `/proc/self/exe`, which runs a registered entry point.
    case spawn = 1
    /// A fork of the forkserver, a clean single-threaded process started for the purpose.
    case forkserver = 2
    /// A pool's remote worker, started by a launcher (srun, sbatch, a command) on its host, not
    /// by a fork: in a trace only, never a method to start a child with. Its start's parent is
    /// the pool worker process that launched it (docs/cluster.md, "Traces").
    case remote = 3
    /// The root process of a trace (not started by Forkline).
    case root = 255

    public var description: String {
        switch self {
        case .fork: "fork"
        case .spawn: "spawn"
        case .forkserver: "forkserver"
        case .remote: "remote"
        case .root: "root"
        }
    }

    /// Parses `fork`, `spawn` or `forkserver`.
    public init?(name: String) {
        guard let m = Self.allCases.first(where: { $0.description == name && $0 != .root && $0 != .remote }) else { return nil }
        self = m
    }
}
