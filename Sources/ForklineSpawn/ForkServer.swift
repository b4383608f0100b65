import CForkline
import ForklineSystem
import FoundationEssentials
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// The forkserver: a single-threaded process that forks children on request. It never starts a
/// thread, so its children may use Dispatch and Swift concurrency freely.
enum ForkServer {
    struct Child {
        var pid: Int32
        var pidfd: Int32
        /// The requester's connection, -1 once it hung up.
        var conn: Int32
    }

    /// Set beside `LD_BIND_NOW` when the client added it, so the server removes both.
    static let bindNowMarker = "FORKLINE_BIND_NOW_ADDED"

    /// Serves until the control socket (held by the process that started the server) closes.
    static func run(_ payload: BootstrapPayload, descriptors: [Int32], control: Int32) -> Never {
        ChildSetup.bindLifetime(to: payload.parentPid)
        if getenv(bindNowMarker) != nil {
            // The loader has bound every symbol already; children inherit the server's environment.
            unsetenv("LD_BIND_NOW")
            unsetenv(bindNowMarker)
        }
        warmUp()
        // Children of the owner are forked as its own (CLONE_PARENT) when the kernel lets us find
        // what glibc's fork would set up in the child; otherwise every request is relayed.
        let owner = getppid() == payload.parentPid && fl_sibling_fork_prepare() == 0 ? payload.parentPid : 0
        guard let listener = descriptors.first else {
            writeStderr("forkline: forkserver: no listening socket was passed\n")
            fl_exit_now(ChildSetup.bootstrapFailed)
        }
        ChildProcess.becomeChild(name: "forkserver", puid: payload.puid, parent: ProcessIdentity(pid: payload.parentPid, name: "", puid: payload.parentPuid))
        ForkServerClient.adopt(address: payload.forkserverAddress)
        startTracing(payload, into: payload.traceDirectory)
        var children: [Child] = []
        // The owner's kept connections (ForkServerClient+Session.swift): each carries its
        // requests, one at a time, and no child's status.
        var sessions: [Int32] = []
        while true {
            var fds = [pollfd(fd: control, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
            for s in sessions { fds.append(pollfd(fd: s, events: Int16(POLLIN), revents: 0)) }
            let base = fds.count
            for c in children {
                fds.append(pollfd(fd: c.pidfd, events: Int16(POLLIN), revents: 0))
                fds.append(pollfd(fd: c.conn, events: Int16(POLLIN), revents: 0))  // -1 is ignored by poll
            }
            guard case .success = Syscall.poll(&fds, timeoutMs: -1) else { break }
            if fds[0].revents != 0 { break }  // the owner exited or closed us
            var i = 0
            while i < children.count {
                let exited = fds[base + 2 * i].revents != 0
                let hungUp = children[i].conn >= 0 && fds[base + 1 + 2 * i].revents != 0
                if hungUp && !exited {
                    // The requester is gone (or broke protocol): its child must not outlive it.
                    _ = fl_pidfd_send_signal(children[i].pidfd, SIGKILL)
                    Sys.close(children[i].conn)
                    children[i].conn = -1
                }
                if exited, let st = Sys.reap(children[i].pid) ?? .signaled(SIGKILL) {
                    if children[i].conn >= 0 {
                        _ = Wire.encodeStatus(st).withUnsafeBytes { Syscall.writeAll(children[i].conn, $0) }
                        Sys.close(children[i].conn)
                    }
                    Sys.close(children[i].pidfd)
                    children.remove(at: i)
                    fds.remove(at: base + 2 * i)
                    fds.remove(at: base + 2 * i)
                    continue
                }
                i += 1
            }
            var open: [Int32] = []
            for (j, conn) in sessions.enumerated() {
                guard fds[2 + j].revents != 0 else {
                    open.append(conn)
                    continue
                }
                // A request, or the owner closed it (EOF: receive fails): its children are its own.
                if case .kept = serve(conn, peer: owner, onSession: true, server: payload, owner: owner) { open.append(conn) }
            }
            sessions = open
            if fds[1].revents != 0, let (conn, served) = accept(listener: listener, server: payload, owner: owner) {
                switch served {
                case .relayed(let child): children.append(child)
                case .kept: sessions.append(conn)
                case .closed: break
                }
            }
        }
        // Shutting down: end what is left, reap it, and exit cleanly.
        for c in children { _ = fl_pidfd_send_signal(c.pidfd, SIGKILL) }
        for c in children { _ = Sys.waitForExit(c.pid) }
        ProcessExit.run(status: 0)
        fl_exit_now(0)
    }

    /// Runs once what every child runs first, so that children inherit it done: the lazily
    /// created globals a child resets after the fork or uses at exit, and the binary decoder's
    /// first steps for each entry's arguments. Each child otherwise repeated
    /// this on its way to the entry; it was ~30% of a child's CPU (docs/benchmarks.md).
    static func warmUp() {
        ChildSetup.prepareParent()
        EntryRegistry.prepareForChildren() // entry arguments are the binary codec's: its decoder rehearsed (EntryPoint.swift)
    }

    /// Traces the server into `directory`: at start, or at the first request that is traced (its
    /// owner called `Tracer.start(directory:)` after the server was running).
    static func startTracing(_ server: BootstrapPayload, into directory: String?) {
        guard let directory, !Tracer.isEnabled else { return }
        // Started late, the server's own fork was not recorded (its owner was not tracing then):
        // its start names no fork.
        let late = server.traceDirectory == nil
        do { try Tracer.open(directory: directory, origin: Tracer.Origin(
            parentPuid: server.parentPuid, parentPid: server.parentPid, forkerPuid: late ? 0 : server.forkerPuid,
            forkSeq: late ? 0 : server.forkSeq, method: server.method, name: "forkserver", entry: ""), puid: server.puid)
        } catch {
            Tracer.warnTracingFailure("forkline: tracing disabled in the forkserver (pid \(fl_getpid())): \(error)", directory: directory)
        }
    }

    /// Accepts a connection and serves its request. A child for `owner` (the server's parent,
    /// when it may be forked with CLONE_PARENT; 0 otherwise) is the owner's own: nothing to
    /// track; its connection is kept when the request asks for it.
    static func accept(listener: Int32, server: BootstrapPayload, owner: Int32) -> (conn: Int32, served: Served)? {
        let conn = fl_accept_cloexec(listener)
        guard conn >= 0 else { return nil }
        guard peerIsSameUser(conn) else {
            // Say why instead of hanging up: the client names the cause (its uid changed).
            let msg = "the forkserver runs as uid \(geteuid()); this process is uid \(fl_peer_uid(conn))"
            _ = Wire.send(ForkResponse(pid: nil, error: msg, errno: EPERM).encoded, fds: [], on: conn)
            Sys.close(conn)
            return nil
        }
        // The requester's pid as the kernel saw it connect: only the owner gets its own child.
        let peer = owner > 0 ? Int32(truncatingIfNeeded: fl_peer_pid(conn)) : 0
        return (conn, serve(conn, peer: peer, onSession: false, server: server, owner: owner))
    }

    /// What became of a connection after one request.
    enum Served {
        /// It is the child's status channel.
        case relayed(Child)
        /// The owner's kept connection (ForkServerClient+Session.swift), open for its next request.
        case kept
        /// Closed.
        case closed
    }

    /// Reads one request from `conn` (whose peer connected as pid `peer`) and serves it. On the
    /// owner's kept connection (`onSession`) every request must be for a child of the owner's:
    /// any other is refused with an error answer (the connection can carry no child's status),
    /// and the connection stays open for the next request.
    static func serve(_ conn: Int32, peer: Int32, onSession: Bool, server: BootstrapPayload, owner: Int32) -> Served {
        // The requester sends nothing more until it has an answer: one read takes the request.
        guard let (request, received) = Wire.receive(on: conn, maxFDs: Int(FL_MAX_PASSED_FDS), prefetch: true,
                                                     ForkRequest.init(decoding:)) else {
            Sys.close(conn)
            return .closed
        }
        var holdingReceived = true
        defer { if holdingReceived { for fd in received { Sys.close(fd) } } }
        let sibling = request.ownChild && owner > 0 && peer == owner
        if onSession && !sibling {
            let refusal = ForkResponse(pid: nil, error: "a kept connection carries only requests for the owner's own children")
            if Wire.send(refusal.encoded, fds: [], on: conn) == nil { return .kept }
            Sys.close(conn)
            return .closed
        }
        let (childIO, inherited) = childDescriptors(received, stdio: request.stdio)
        let c = request.child
        startTracing(server, into: c.traceDirectory)
        let pending = reserveForkRecord(c, request.requestSeq)
        // Found and cast here, where that code is mapped already, rather than in each child; and
        // put in a closure here, so that the child copies no existential (ChildProcess.runEntry).
        let runnable = (EntryRegistry.lookup(c.entry) as? any RunnableEntryPoint).map { entry in
            { try entry.run(encodedArguments: c.arguments) }
        }
        let crashReport = ChildSetup.wantsRuntimeCrashReport(in: request.environment)
        let parentPid = sibling ? owner : fl_getpid()
        let pid = sibling ? fl_fork_sibling() : Glibc.fork()
        let forkErrno = pid >= 0 ? 0 : sibling ? -pid : errno
        if pid == 0 {
            // A sibling's death signal follows the owner's thread that started the server (its
            // main or launcher thread, which live as long as it does); others follow the server.
            // No disposition reset: the server was spawned with default dispositions and changes
            // none but the crash writer's, which the child re-installs. The server holds no stdio
            // lock across the fork (it has no other thread).
            fl_fork_child_setup(0, parentPid, childIO.0, childIO.1, childIO.2, 0, nil, 0)
            ChildSetup.afterFork()
            // Passed descriptors move to 3, 4, ...; everything else above 2 is closed.
            if inherited.withUnsafeBufferPointer({ fl_move_fds($0.baseAddress, Int32($0.count), 3) }) != 0 { fl_exit_now(1) }
            ChildProcess.setInherited(request.inherited, from: 3)
            if !ChildSetup.applyEnvironment(request.environment, cwd: request.workingDirectory) { fl_exit_now(1) }
            ChildProcess.becomeChild(name: c.name, puid: c.puid, parent: ProcessIdentity(pid: c.parentPid, name: "", puid: c.parentPuid),
                                     runtimeCrashReport: crashReport)
            // The server's own address is inherited (the server adopted it at its start).
            ChildProcess.runEntry(c, origin: Tracer.Origin(
                parentPuid: c.parentPuid, parentPid: c.parentPid, forkerPuid: server.puid,
                forkSeq: pending?.seq ?? 0, method: .forkserver, name: c.name, entry: c.entry), immediate: true,
                runnable: runnable)
        }
        // The child has its copies now. Closed before the answer: a copy the server still held
        // once its requester went on kept a pipe open (seen: the requester's write to an exited
        // child's stdin blocked until the server closed its copy, then raised SIGPIPE along with
        // a partial count, SigPipeTests under load).
        for fd in received { Sys.close(fd) }
        holdingReceived = false
        guard pid > 0 else {
            let err = forkErrno
            pending?.cancel()
            let sent = Wire.send(ForkResponse(pid: nil, error: "fork failed: \(String(cString: strerror(err)))", errno: err).encoded, fds: [], on: conn)
            if onSession && sent == nil { return .kept }
            Sys.close(conn)
            return .closed
        }
        pending?.setInt32(pid, at: 0)
        pending?.commit()
        if sibling {
            return handOver(pid, on: conn, keep: onSession || request.keep) ? .kept : .closed
        }
        let pidfd = fl_pidfd_open(pid)
        if pidfd < 0 {
            _ = Glibc.kill(pid, SIGKILL)
            _ = Sys.waitForExit(pid)
            _ = Wire.send(ForkResponse(pid: nil, error: "pidfd_open failed (errno \(-pidfd))", errno: -pidfd).encoded, fds: [], on: conn)
            Sys.close(conn)
            return .closed
        }
        _ = Wire.send(ForkResponse(pid: pid, error: nil).encoded, fds: [], on: conn)
        return .relayed(Child(pid: pid, pidfd: pidfd, conn: conn))
    }

    /// The descriptors the child gets as 0, 1 and 2 (-1: the server's own) and the passed ones,
    /// from those that came with the request. Not inlined, so that its arrays are freed here,
    /// before the fork: inlined, the optimizer released one after `fork()`, in every child too
    /// (a forkserver child 25-26 -> 24 page faults, `perf record -e page-faults`).
    @inline(never)
    static func childDescriptors(_ received: [Int32], stdio: [Bool]) -> ((Int32, Int32, Int32), [Int32]) {
        let stdioCount = stdio.prefix(3).filter { $0 }.count
        let given = min(stdioCount, received.count)
        var io: [Int32] = [-1, -1, -1]
        var next = 0
        for (slot, has) in stdio.prefix(3).enumerated() where has && next < given {
            io[slot] = received[next]
            next += 1
        }
        return ((io[0], io[1], io[2]), Array(received.dropFirst(stdioCount)))
    }

    /// Reserves the `fork` record; not inlined, so that its argument array is freed before the
    /// fork rather than in each child (as ChildProcess.reserveForkRecord).
    @inline(never)
    static func reserveForkRecord(_ c: BootstrapPayload, _ requestSeq: UInt64) -> PendingRecord? {
        guard Tracer.isEnabled else { return nil }
        return Tracer.reserve(.fork, [
            .int(0), .uint(c.puid), .uint(UInt64(StartMethod.forkserver.rawValue)), .string(c.entry),
            .uint(c.parentPuid), .uint(requestSeq), .backtrace(Backtrace(frames: [])),
        ])
    }

    /// Answers the owner with a child it reaps itself; one it cannot be told of (it hung up
    /// mid-request) is killed, left for the owner to reap at its exit or by its death signal.
    /// Returns whether the connection stays open for the owner's next request (`keep`).
    static func handOver(_ pid: Int32, on conn: Int32, keep: Bool) -> Bool {
        if Wire.send(ForkResponse(pid: pid, error: nil, yours: true).encoded, fds: [], on: conn) != nil {
            let pidfd = fl_pidfd_open(pid)
            if pidfd >= 0 {
                _ = fl_pidfd_send_signal(pidfd, SIGKILL)
                Sys.close(pidfd)
            }
            Sys.close(conn)
            return false
        }
        if keep { return true }
        Sys.close(conn)
        return false
    }

    /// Only processes of our own user may ask for children.
    static func peerIsSameUser(_ conn: Int32) -> Bool {
        fl_peer_uid(conn) == Int(geteuid())
    }
}
