import CForkline
import ForklineSystem
import ForklineTrace
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The requesting side of the forkserver: starts the server on first use (a fresh re-execution
/// of this program, so it is single-threaded whatever this process runs), and asks it for
/// children.
enum ForkServerClient {
    struct Server {
        var address: String
        /// This process started the server: it owns the control socket and reaps it at exit.
        var owned: Bool
        var pid: Int32 = 0
        var puid: UInt64 = 0
        var control: Int32 = -1
        var pidfd: Int32 = -1
        /// The environment the server started with, as `environ`'s bytes in order (nil when not
        /// ours): a request from a process whose environment is unchanged sends none, and the
        /// child inherits the server's.
        var environment: [UInt8]? = nil
        /// The effective uid the server runs as: it serves only requests of that uid.
        var uid: uid_t = geteuid()
        /// The connection this process, the owner, keeps to the server for its requests
        /// (``ForkServerClient/takeSession()``), -1 until the server made a child ours on it.
        var session: Int32 = -1
        /// The process that made `session` (a fork child inherits the number, never the use).
        var sessionPid: pid_t = 0
        /// A thread is exchanging a request on `session`: others connect for their own.
        var sessionBusy = false
    }

    static let state = ForkSafeLock<Server?>(nil)
    /// Servers this process started for a uid it no longer has (it dropped privileges): still
    /// ours to shut down and reap at exit.
    static let retired = ForkSafeLock<[Server]>([])

    /// The address of a server that serves this process's current uid, if one runs.
    static var addressIfRunning: String? {
        let uid = geteuid()
        return state.withLock { $0?.uid == uid ? $0?.address : nil }
    }

    /// A spawn or forkserver child uses its ancestor's server.
    static func adopt(address: String?) {
        guard let address else { return }
        state.withLock { $0 = Server(address: address, owned: false) }
    }

    /// This process started a server (its own, or one retired since): set once, never cleared
    /// but in a fork child. A child of a process that owns none (every forkserver child) then
    /// finds nothing to forget without taking, and so writing, the locks' pages (each written
    /// page of a fork child's costs a copy-on-write fault, ~5 us here).
    static let ownsAServer = Atomic<Bool>(false)

    /// In a fork child: the server is the parent's; keep using its address, never reap it.
    static func resetAfterFork() {
        guard ownsAServer.load(ordering: .relaxed) else { return }
        ownsAServer.store(false, ordering: .relaxed)
        state.withLock { s in
            if let old = s { s = Server(address: old.address, owned: false, uid: old.uid) }
        }
        retired.withLock { $0 = [] }
    }

    static func ensureServer() throws(SpawnError) -> String {
        if let a = addressIfRunning { return a }
        return try Launcher.run { () throws(SpawnError) -> String in
            if let a = addressIfRunning { return a }
            // None, or one for the uid this process had before it dropped privileges (that one
            // refuses us): start one for the uid we have now.
            let server = try launchServer()
            ownsAServer.store(true, ordering: .relaxed)
            let old = state.withLock { s in
                defer { s = server }
                return s
            }
            if var old, old.owned {
                // Its kept connection is closed here, or by the thread using it when it finds
                // the server replaced (``giveBackSession(_:keep:)``): never by both.
                if old.session >= 0 && !old.sessionBusy { Sys.close(old.session) }
                old.session = -1
                retired.withLock { $0.append(old) }
            }
            return server.address
        }
    }

    static func launchServer() throws(SpawnError) -> Server {
        let me = ChildProcess.current
        let address = "forkline-\(fl_getpid())-\(hex16(UInt64.random(in: 1...UInt64.max)))"
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw .system("socket", errno, "starting the forkserver") }
        defer { Sys.close(listener) }
        let bound = Wire.withAddress(address) { bind(listener, $0, $1) }
        if bound != 0 { throw .system("bind", errno, "starting the forkserver") }
        if listen(listener, 128) != 0 { throw .system("listen", errno, "starting the forkserver") }
        let (ours, theirs) = try Sys.socketPair("starting the forkserver")
        let puid = Tracer.makePuid()
        let pending = Tracer.reserve(.fork, [
            .int(0), .uint(puid), .uint(UInt64(StartMethod.spawn.rawValue)), .string("forkserver"),
            .uint(0), .uint(0), .backtrace(Backtrace.captureIfTracing(skipping: 2)),
        ])
        let environment = ChildProcess.currentEnvironment()
        let snapshot = environmentBytes()
        // The server resolves every symbol at exec (LD_BIND_NOW), so its children inherit a bound
        // GOT instead of each one binding lazily what it calls (~20% of a child's CPU measured).
        // It removes the variable again at bootstrap unless the program set it itself.
        let bindNow: [String: String] = environment["LD_BIND_NOW"] == nil ? ["LD_BIND_NOW": "1", ForkServer.bindNowMarker: "1"] : [:]
        let pid = ChildProcess.spawnSelf(io: [-1, -1, -1], payloadFD: theirs, environment: environment, cwd: nil,
                                         extraEnvironment: bindNow)
        Sys.close(theirs)
        guard pid > 0 else {
            pending?.cancel()
            Sys.close(ours)
            throw .system("posix_spawn", -pid, "starting the forkserver")
        }
        pending?.setInt32(pid, at: 0)
        pending?.commit()
        let payload = BootstrapPayload(
            role: .forkserver, name: "forkserver", entry: "", arguments: [], puid: puid, parentPuid: me.puid,
            parentPid: me.pid, forkerPuid: me.puid, forkSeq: pending?.seq ?? 0, method: .spawn,
            traceDirectory: Tracer.directory, forkserverAddress: address)
        let pidfd = fl_pidfd_open(pid)
        if let err = ChildProcess.sendPayload(payload, fds: [listener], on: ours) {
            Sys.close(ours)
            throw .system("sendmsg", err, "starting the forkserver")
        }
        ChildRegistry.firstStart()
        return Server(address: address, owned: true, pid: pid, puid: puid, control: ours, pidfd: pidfd,
                      environment: snapshot)
    }

    /// Asks the server for a child. The owner of the server asks over the connection it keeps
    /// (``takeSession()``); any other request has a connection of its own, which becomes the
    /// child's status channel unless the server makes the child the requester's own.
    static func start(_ child: ChildProcess, _ entry: any AnyEntryPoint, _ args: [UInt8],
                      _ io: inout ChildDescriptors) throws(SpawnError) -> ChildProcess.Started {
        let address = try ensureServer()
        let me = ChildProcess.current
        let requestSeq = Tracer.record(.request, [
            .uint(child.puid), .string(entry.name), .backtrace(Backtrace.captureIfTracing(skipping: 2)),
        ]) ?? 0
        let ownChild = Sys.keepsChildStatus()
        // A child the server makes ours needs no status channel: the owner's requests go over one
        // kept connection (no connect, accept or close a start) when no other thread is using it.
        let use = ownChild ? takeSession() : .busy
        var session: Int32 = -1
        if case .taken(let fd) = use { session = fd }
        var askToKeep = false
        if case .none = use { askToKeep = ownChild }
        let sock = session >= 0 ? session : try connect(address, child.name)
        let payload = BootstrapPayload(
            role: .child, name: child.name, entry: entry.name, arguments: args, puid: child.puid,
            parentPuid: me.puid, parentPid: me.pid, forkerPuid: 0, forkSeq: 0, method: .forkserver,
            traceDirectory: Tracer.directory, forkserverAddress: address)
        let stdio = io.child.map { $0 >= 0 }
        let request = ForkRequest(
            child: payload, requestSeq: requestSeq,
            environment: requestEnvironment(child.options.environment),
            workingDirectory: child.options.workingDirectory, stdio: stdio,
            inherited: child.options.inheritedDescriptors, ownChild: ownChild, keep: askToKeep)
        if let err = Wire.send(request.encoded, fds: io.child.filter { $0 >= 0 } + child.options.inheritedDescriptors, on: sock) {
            if session >= 0 { giveBackSession(sock, keep: false) } else { Sys.close(sock) }
            throw SpawnError(.forkserverFailed, "\(child.name): sending the request to the forkserver failed (errno \(err))")
        }
        // The answer is waited for in poll, not in recvmsg: the server's read of the request frees
        // its bytes, and the kernel's write-space wake-up of this socket wakes a reader blocked in
        // recvmsg for nothing, while poll filters wake-ups by event (perf record of sched_switch:
        // the requester woke and slept again in the middle of the server's work, two context
        // switches on the start's path when both run on one CPU).
        _ = Syscall.waitReadable(sock, timeoutMs: -1)
        // On the kept connection nothing follows the answer: it is read with one call.
        guard let (response, _) = Wire.receive(on: sock, maxFDs: 0, prefetch: session >= 0, ForkResponse.init(decoding:)) else {
            if session >= 0 { giveBackSession(sock, keep: false) } else { Sys.close(sock) }
            throw SpawnError(.forkserverFailed, "\(child.name): the forkserver closed the connection without an answer")
        }
        if session >= 0 {
            // The server answers a kept connection with a child of ours or an error, nothing else.
            giveBackSession(sock, keep: response.yours || response.pid == nil)
        } else if response.pid == nil || response.yours {
            if !(response.yours && request.keep && keepSession(sock, to: address)) { Sys.close(sock) }
        }
        guard let pid = response.pid else {
            if response.errno != 0 {
                throw SpawnError(.systemCallFailed, "\(child.name): the forkserver could not start it: \(response.error ?? "unknown error")",
                                 syscall: "fork", errno: response.errno)
            }
            throw SpawnError(.forkserverFailed, "\(child.name): the forkserver could not start it: \(response.error ?? "unknown error")")
        }
        // Forked with CLONE_PARENT for us, the server's owner: our own child to wait for.
        if response.yours { return try child.watch(pid) }
        if session >= 0 {
            // Not reachable from this client (it asks on the kept connection only for a child of
            // its own); were it, the child would have no status channel: end it, say so.
            _ = Glibc.kill(pid, SIGKILL)
            throw SpawnError(.forkserverFailed, "\(child.name): the forkserver answered a kept connection with a child it keeps")
        }
        let pidfd = fl_pidfd_open(pid)  // for signals; the child is not ours to wait for
        return ChildProcess.Started(pid: pid, waitFD: sock, signalFD: pidfd >= 0 ? pidfd : -1, statusRelayed: true)
    }

    /// A new connection to the server at `address`.
    static func connect(_ address: String, _ name: String) throws(SpawnError) -> Int32 {
        let sock = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard sock >= 0 else { throw .system("socket", errno, "\(name): connecting to the forkserver") }
        var rc: Int32
        repeat { rc = Wire.withAddress(address) { Glibc.connect(sock, $0, $1) } } while rc != 0 && errno == EINTR
        if rc != 0 {
            let err = errno
            Sys.close(sock)
            throw SpawnError(.forkserverFailed, "\(name): cannot reach the forkserver: \(String(cString: strerror(err)))",
                             syscall: "connect", errno: err)
        }
        return sock
    }

    /// The environment to send: the child's own, else ours unless it is the server's already.
    static func requestEnvironment(_ explicit: [String: String]?) -> [String: String]? {
        if let explicit { return explicit }
        let unchanged = state.withLock { s in s?.environment.map(environmentEquals) ?? false }
        return unchanged ? nil : ChildProcess.currentEnvironment()
    }

    /// `environ`'s entries, each followed by a NUL, in order.
    static func environmentBytes() -> [UInt8] {
        var out: [UInt8] = []
        var p = environ
        while let entry = p.pointee {
            let n = strlen(entry)
            entry.withMemoryRebound(to: UInt8.self, capacity: n + 1) { out.append(contentsOf: UnsafeBufferPointer(start: $0, count: n + 1)) }
            p += 1
        }
        return out
    }

    /// Whether `environ` is still `snapshot` (``environmentBytes()``), without allocating: a
    /// dictionary of the environment per request cost ~0.1 ms. A reordered but equal environment
    /// counts as changed, which only sends it.
    static func environmentEquals(_ snapshot: [UInt8]) -> Bool {
        snapshot.withUnsafeBytes { b -> Bool in
            var at = 0
            var p = environ
            while let entry = p.pointee {
                let n = strlen(entry) + 1
                guard n <= b.count - at, memcmp(b.baseAddress! + at, entry, n) == 0 else { return false }
                at += n
                p += 1
            }
            return at == b.count
        }
    }

    /// Reads the status the server wrote; a server that vanished means its children were killed.
    static func readStatus(_ fd: Int32) -> ExitStatus {
        guard let b = Syscall.readExactly(fd, 5) else { return .signaled(SIGKILL) }
        return Wire.decodeStatus(b)
    }

    /// At exit: close the control socket (the server sees EOF, ends its children and exits) and
    /// reap the server, recording the join.
    static func shutdownAtExit() {
        // Most processes own no server (every fork child): return before building any list.
        guard state.withLock({ $0?.owned == true }) || !retired.withLock({ $0.isEmpty }) else { return }
        let current = state.withLock { s -> Server? in
            defer { if s?.owned == true { s = nil } }
            return s?.owned == true ? s : nil
        }
        let old = retired.withLock { r in
            defer { r = [] }
            return r
        }
        for server in old + (current.map { [$0] } ?? []) { shutDown(server) }
    }

    static func shutDown(_ server: Server) {
        // A kept connection another thread is using is that thread's to close (its give-back
        // finds no server and closes it), as ensureServer leaves it: closed here too, its number
        // could be closed twice, the second time another descriptor's that took the number.
        if server.session >= 0 && !server.sessionBusy { Sys.close(server.session) }
        Sys.close(server.control)
        if let status = Sys.waitForExit(server.pid) {
            Tracer.record(.join, [.int(Int64(server.pid)), .uint(server.puid), .status(status)])
        }
        Sys.close(server.pidfd)
    }
}
