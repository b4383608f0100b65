import CForkline
import ForklineTrace
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// A child process: Forkline's counterpart of Python's `multiprocessing.Process`.
///
/// Create it with a closure (fork) or an ``EntryPoint`` and its arguments (any start method),
/// ``start()`` it, then ``join()`` it to learn its ``ExitStatus``:
///
/// ```swift
/// let child = ChildProcess { print("Executing task: Process 1") }
/// try child.start()
/// let status = try await child.join()   // .exited(0)
/// ```
///
/// Every start, exit, crash, join, terminate and kill is recorded when tracing is on.
public final class ChildProcess: Sendable {
    enum Body: Sendable {
        case closure(@Sendable () throws -> Void)
        case entry(any AnyEntryPoint, [UInt8])

        var entryName: String {
            switch self {
            case .closure: ""
            case .entry(let e, _): e.name
            }
        }
    }

    struct State {
        enum Phase { case created, running, failed }
        var phase = Phase.created
        var pid: Int32?
        var status: ExitStatus?
        /// Readable when the child has ended: a pidfd (fork, spawn) or the forkserver's status socket.
        var waitFD: Int32 = -1
        /// For signals: a pidfd, or -1 when none could be opened.
        var signalFD: Int32 = -1
        /// `waitFD` is the forkserver's status socket (the server reaps the child and writes its
        /// status), not a pidfd of a child of ours.
        var statusRelayed = false
        var joinRecorded = false
        /// Another part of the program reaped the child (a `waitpid(-1)`, SIGCHLD ignored): its
        /// status is lost, and `join` says so.
        var statusLost = false
        var stdin: PipeEnd?
        var stdout: PipeEnd?
        var stderr: PipeEnd?
    }

    /// The child's name (`Process-N` unless given).
    public let name: String
    /// The start method.
    public let method: StartMethod
    /// Whether the child is a daemon (terminated and reaped when the parent exits).
    public let daemon: Bool
    /// The child's unique id in the trace.
    public let puid: UInt64
    let options: ChildOptions
    let body: Body
    /// The pid of the process that created this handle: only it may join.
    let creatorPid: Int32
    // A sleeping lock: `collect` holds it across a poll and read of the forkserver's answer.
    let state = SleepingLock(State())

    /// A child that runs `body` in a fork of this process.
    ///
    /// A closure can only run in a fork child: `options` with no method chosen get
    /// ``StartMethod/fork``; options that ask for spawn or forkserver make ``start()`` throw
    /// `unsupported` (use an ``EntryPoint`` there) rather than silently fork.
    ///
    /// A fork child runs synchronous code: Dispatch queues and Swift tasks started in it never
    /// run. It ends with `_exit` when `body` returns (code 0) or throws (code 1, the error
    /// printed to stderr), or with `exit(n)` if `body` calls it.
    public convenience init(name: String? = nil, daemon: Bool = false, options: ChildOptions = ChildOptions(),
                            _ body: @escaping @Sendable () throws -> Void) {
        var o = options
        if o.chosenMethod == nil { o.method = .fork }
        if let name { o.name = name }
        o.daemon = o.daemon || daemon
        self.init(body: .closure(body), options: o)
    }

    /// A child that runs a registered entry point with `arguments`.
    ///
    /// - Throws: ``SpawnError`` with code `encoding` if the arguments cannot be encoded.
    public convenience init<A>(entry: EntryPoint<A>, arguments: A, options: ChildOptions = ChildOptions()) throws(SpawnError) {
        self.init(body: .entry(entry, try entry.encode(arguments)), options: options)
    }

    /// A child that runs `entry` on arguments already in the form its `run(encodedArguments:)`
    /// reads (ForklinePool's worker, whose arguments are already in the binary codec's form).
    package convenience init(entry: any RunnableEntryPoint, encodedArguments: [UInt8], options: ChildOptions) {
        self.init(body: .entry(entry, encodedArguments), options: options)
    }

    init(body: Body, options: ChildOptions) {
        self.body = body
        self.options = options
        self.method = options.method
        self.daemon = options.daemon
        self.name = options.name ?? "Process-\(ChildRegistry.nextNumber())"
        let me = fl_getpid()
        self.puid = ChildRegistry.nextPuid(pid: me)
        self.creatorPid = me
    }

    deinit {
        state.withLock { s in
            Sys.close(s.waitFD)
            if s.signalFD != s.waitFD { Sys.close(s.signalFD) }
        }
    }

    /// The child's pid, once started.
    public var pid: Int32? { state.withLock { $0.pid } }

    /// The parent's end of the child's stdin when it is `.pipe`.
    public var standardInput: PipeEnd? { state.withLock { $0.stdin } }
    /// The parent's end of the child's stdout when it is `.pipe`.
    public var standardOutput: PipeEnd? { state.withLock { $0.stdout } }
    /// The parent's end of the child's stderr when it is `.pipe`.
    public var standardError: PipeEnd? { state.withLock { $0.stderr } }

    /// Starts the child.
    ///
    /// - Throws: ``SpawnError``: `alreadyStarted`; `unsupported` for a closure with spawn or
    ///   forkserver; `systemCallFailed` when the kernel refuses (no descriptors left, no
    ///   processes left); `unknownEntry`, `forkserverFailed`. A failed start is recorded as
    ///   `startFailed` in the trace.
    public func start() throws(SpawnError) {
        try state.withLock { s throws(SpawnError) in
            guard s.phase == .created else {
                throw SpawnError(.alreadyStarted, "\(name): a process can only be started once")
            }
            guard options.inheritedDescriptors.count + 3 <= Int(FL_MAX_PASSED_FDS) else {
                throw SpawnError(.unsupported, "\(name): at most \(Int(FL_MAX_PASSED_FDS) - 3) descriptors can be passed to a child")
            }
            if method == .spawn || method == .forkserver, case .entry(let e, _) = body {
                try EntryRegistry.checkStartable(e.name, child: name, method: method)
            }
            s.phase = .running
        }
        ChildRegistry.firstStart()
        do throws(SpawnError) {
            var io = try ChildDescriptors(options)
            let started: Started
            // Read once, for the steps below.
            let me = fl_getpid()
            do throws(SpawnError) {
                switch (method, body) {
                case (.fork, _):
                    let stdio = (io.child[0], io.child[1], io.child[2])
                    started = try Launcher.run(pid: me) { () throws(SpawnError) in try self.startFork(stdio: stdio, pid: me) }
                case (.spawn, .entry(let e, let args)):
                    started = try Launcher.run(pid: me) { () throws(SpawnError) in try self.startSpawn(e, args, &io, pid: me) }
                case (.forkserver, .entry(let e, let args)): started = try ForkServerClient.start(self, e, args, &io)
                case (.root, _), (.remote, _): throw SpawnError(.unsupported, "\(name): '\(method)' is not a start method")
                case (_, .closure):
                    throw SpawnError(.unsupported, "\(name): a closure can only run in a fork child; use an EntryPoint with \(method)")
                }
            } catch {
                io.closeChildEnds()
                for fd in io.parent { Sys.close(fd) }
                throw error
            }
            io.closeChildEnds()
            state.withLock { s in
                s.pid = started.pid
                s.waitFD = started.waitFD
                s.signalFD = started.signalFD
                s.statusRelayed = started.statusRelayed
                if io.parent[0] >= 0 { s.stdin = PipeEnd(io.parent[0]) }
                if io.parent[1] >= 0 { s.stdout = PipeEnd(io.parent[1]) }
                if io.parent[2] >= 0 { s.stderr = PipeEnd(io.parent[2]) }
            }
            ChildRegistry.add(self)
        } catch {
            state.withLock { $0.phase = .failed }
            Tracer.record(.startFailed, [.uint(puid), .string(error.message)])
            throw error
        }
    }

    /// What a start method hands back.
    struct Started {
        var pid: Int32
        var waitFD: Int32
        var signalFD: Int32
        /// The forkserver relays the status on `waitFD`; false: the child is ours to reap.
        var statusRelayed = false
    }

    /// True between a successful `start` and the child's end.
    public var isAlive: Bool {
        guard creatorPid == fl_getpid() else { return false }
        guard state.withLock({ s in s.phase == .running && s.pid != nil && s.status == nil && !s.statusLost }) else { return false }
        return (try? collect()) == .some(nil)
    }

    /// The child's exit status once it has ended and been collected (`join`, `isAlive`), else nil.
    public var exitStatus: ExitStatus? { state.withLock { $0.status } }
}
