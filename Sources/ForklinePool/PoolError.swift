import ForklineTrace

/// The error every pool operation throws or delivers: what failed, in which worker, and why.
public struct PoolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let raw: String
        /// The task's function threw: ``errorType`` and ``errorDescription`` say what.
        public static let taskFailed = Code(raw: "taskFailed")
        /// The worker running the task died (``signal`` or ``exitCode``; ``backtrace`` and
        /// ``faultAddress`` when its crash writer ran). The pool replaced it.
        public static let workerDied = Code(raw: "workerDied")
        /// The task ran past its timeout; its worker was killed and replaced.
        public static let timedOut = Code(raw: "timedOut")
        /// The caller cancelled the task (Swift task cancellation) before a worker took it.
        public static let cancelled = Code(raw: "cancelled")
        /// The pool was terminated before the task finished.
        public static let terminated = Code(raw: "terminated")
        /// The pool is closed: no new tasks.
        public static let closed = Code(raw: "closed")
        /// No worker could be started (the reason is in the message): the pool is broken.
        public static let workerStartFailed = Code(raw: "workerStartFailed")
        /// The worker has no function of that name (not registered with `bootstrap`).
        public static let unknownFunction = Code(raw: "unknownFunction")
        /// An input or output could not be encoded or decoded.
        public static let encoding = Code(raw: "encoding")
        /// ``PoolTask/value(timeout:)`` gave up waiting (the task goes on).
        public static let waitTimedOut = Code(raw: "waitTimedOut")
        /// A setting or argument the pool cannot work with (`workers: 0`, `maxTasksPerChild: 0`):
        /// the program's mistake, reported before anything starts.
        public static let invalidArgument = Code(raw: "invalidArgument")
        /// The pool already holds its `maxPending` unfinished tasks (``PoolBackpressure/throw``,
        /// or a synchronous call under ``PoolBackpressure/wait``): a service answers 503.
        public static let overloaded = Code(raw: "overloaded")
        /// A system call failed.
        public static let systemCallFailed = Code(raw: "systemCallFailed")
        public var description: String { raw }
    }

    /// What kind of failure.
    public var code: Code
    /// A message a user can act on.
    public var message: String
    /// The pid of the worker involved, if any.
    public var workerPid: Int32?
    /// For `workerDied` in a pool with remote workers: the host the lost worker ran on.
    public var workerHost: String?
    /// The signal that ended the worker, for `workerDied`.
    public var signal: Int32?
    /// The worker's exit code, for `workerDied` without a signal.
    public var exitCode: Int32?
    /// The type of the error the task threw, for `taskFailed`.
    public var errorType: String?
    /// The description of the error the task threw, for `taskFailed`.
    public var errorDescription: String?
    /// Where the task's error was thrown in the worker, for `taskFailed` (Python's
    /// `RemoteTraceback`): one line a frame, innermost first, from the frame that threw to the
    /// task's body, each its address, function (from the file's symbol table, Swift names
    /// demangled) and file, or its file + offset when the file has no symbol for it. Nil when
    /// the worker could not record it (no libunwind). ``description`` shows it. The names are
    /// looked up when this is read (the first read of a file's symbols parses that file).
    public var remoteBacktrace: [String]? { remoteFrames.map(ThrowSites.lines) }
    /// The throw site as the worker sent it.
    var remoteFrames: [RemoteFrame]?
    /// The crash backtrace (return addresses in the worker, innermost first), for `workerDied`
    /// when the worker's crash writer ran (a crash signal, traced or not; not SIGKILL);
    /// `replay show` symbolises such addresses.
    public var backtrace: [UInt64]?
    /// The fault address (`si_addr`) of the worker's crash, with ``backtrace``.
    public var faultAddress: UInt64?
    /// How the crash signal came (`si_code`: a fault, or sent by a process), with ``backtrace``.
    public var signalCode: Int32?

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String {
        var s = message
        if let remoteBacktrace, !remoteBacktrace.isEmpty {
            let who = workerPid.map { "worker pid \($0)" } ?? "the worker"
            s += "\n  remote backtrace (\(who), where it was thrown, innermost first):"
            for line in remoteBacktrace.prefix(32) { s += "\n    " + line }
        }
        if let backtrace, !backtrace.isEmpty {
            s += "\n  crash backtrace (\(backtrace.count) frames): " + backtrace.prefix(16).map { "0x" + String($0, radix: 16) }.joined(separator: " ")
        }
        return s
    }
}
