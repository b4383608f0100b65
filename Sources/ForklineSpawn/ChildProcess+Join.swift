import CForkline
import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

extension ChildProcess {
    /// Waits for the child to end and returns how it ended. Records the `join` event.
    ///
    /// - Throws: ``SpawnError`` `notStarted` when the child was never started, `joinSelf` when a
    ///   process joins itself (as in Python), `cancelled` when the awaiting task is cancelled (the
    ///   child is not touched: join it again), `systemCallFailed` when the async bridge failed.
    public func join() async throws(SpawnError) -> ExitStatus {
        let fd = try joinableFD()
        var began = false
        while true {
            if let status = try collect() {
                Tracer.waitEnd(began, .child, puid, .done)
                return recordJoin(status)
            }
            if !began { began = Tracer.waitBegin(.child, puid, ref: UInt64(UInt32(bitPattern: pid ?? 0))) }
            do throws(WaitFailure) {
                try await AsyncBridge.shared().waitReadable(fd)
            } catch {
                Tracer.waitEnd(began, .child, puid, .failed)
                throw SpawnError(waiting: error, "\(name): joining")
            }
        }
    }

    /// Blocks until the child ends or `timeout` passes; nil on timeout.
    ///
    /// - Throws: ``SpawnError`` as ``join()``.
    @available(*, noasync, message: "use the async join()")
    public func join(timeout: Duration?) throws(SpawnError) -> ExitStatus? {
        let fd = try joinableFD()
        let deadline = timeout.map { fl_monotonic_ns() + $0.clampedNanoseconds }
        var began = false
        // Untraced, with time to wait: wait first, then reap (a child just started is still
        // running, and the reap before the wait was a `wait4` for nothing). Traced, the first
        // reap tells whether the join waits at all, which the trace records.
        if timeout != .zero, state.withLock({ $0.status == nil && !$0.statusLost }), !Tracer.isEnabled {
            _ = Syscall.waitReadable(fd, timeoutMs: deadline.map { Self.milliseconds(until: $0) } ?? -1)
        }
        while true {
            if let status = try collect() {
                Tracer.waitEnd(began, .child, puid, .done)
                return recordJoin(status)
            }
            var ms: Int32 = -1
            if let deadline {
                if fl_monotonic_ns() >= deadline {
                    Tracer.waitEnd(began, .child, puid, .timedOut)
                    return nil
                }
                ms = Self.milliseconds(until: deadline)
            }
            if !began && ms != 0 { began = Tracer.waitBegin(.child, puid, ref: UInt64(UInt32(bitPattern: pid ?? 0))) }
            _ = Syscall.waitReadable(fd, timeoutMs: ms)
        }
    }

    /// The milliseconds from now to `deadline` (monotonic ns), rounded up; 0 once it passed.
    static func milliseconds(until deadline: UInt64) -> Int32 {
        let now = fl_monotonic_ns()
        return now >= deadline ? 0 : Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
    }

    /// Sends SIGTERM (Python's `terminate`). Does nothing once the child has ended.
    public func terminate() throws(SpawnError) { try signal(SIGTERM, kind: .terminate) }

    /// Sends SIGKILL. Does nothing once the child has ended.
    public func kill() throws(SpawnError) { try signal(SIGKILL, kind: .kill) }

    func signal(_ sig: Int32, kind: EventKind) throws(SpawnError) {
        let (pid, fd, ended) = try state.withLock { s throws(SpawnError) in
            guard let pid = s.pid else { throw SpawnError(.notStarted, "\(name): cannot signal a process that was never started") }
            return (pid, s.signalFD, s.status != nil)
        }
        if ended { return }
        Tracer.record(kind, [.int(Int64(pid)), .uint(puid), .int(Int64(sig))])
        // A pidfd names this process and no other, even once its pid is reused.
        let rc = fd >= 0 ? fl_pidfd_send_signal(fd, sig) : (Glibc.kill(pid, sig) == 0 ? 0 : -errno)
        if rc < 0 && -rc != ESRCH { throw .system("pidfd_send_signal", -rc, "\(name): sending \(signalName(sig))") }
    }

    func joinableFD() throws(SpawnError) -> Int32 {
        guard creatorPid == fl_getpid() else {
            if puid == Tracer.processID { throw SpawnError(.joinSelf, "\(name): a process cannot join itself") }
            throw SpawnError(.notStarted, "\(name): can only join a child process (this handle belongs to pid \(creatorPid))")
        }
        return try state.withLock { s throws(SpawnError) in
            guard s.phase == .running, s.waitFD >= 0 else {
                throw SpawnError(.notStarted, "\(name): can only join a started process")
            }
            return s.waitFD
        }
    }

    /// Collects the status if the child has ended (reaps a child of ours: fork, spawn, and a
    /// forkserver child of the server's owner). Non-blocking.
    ///
    /// - Throws: ``SpawnError`` `systemCallFailed` with errno `ECHILD` when something else in the
    ///   program reaped the child first: its status cannot be known (it used to be reported as
    ///   `signaled(SIGKILL)`, which it need not have been).
    func collect() throws(SpawnError) -> ExitStatus? {
        try state.withLock { s throws(SpawnError) -> ExitStatus? in
            if let st = s.status { return st }
            if s.statusLost { throw lostStatus(s.pid) }
            guard let pid = s.pid else { return nil }
            if s.statusRelayed {
                guard Syscall.waitReadable(s.waitFD, timeoutMs: 0) else { return nil }
                s.status = ForkServerClient.readStatus(s.waitFD)
            } else {
                switch Sys.reap(pid) {
                case .some(.some(let st)): s.status = st
                case .some(.none): return nil
                case .none:
                    s.statusLost = true
                    throw lostStatus(pid)
                }
            }
            return s.status
        }
    }

    func lostStatus(_ pid: Int32?) -> SpawnError {
        SpawnError(.systemCallFailed, "\(name) (pid \(pid ?? 0)): its exit status is lost: something else in this program reaped it first (a waitpid(-1), or SIGCHLD set to SIG_IGN)",
                   syscall: "waitpid", errno: ECHILD)
    }

    func recordJoin(_ status: ExitStatus) -> ExitStatus {
        let first = state.withLock { s in
            defer { s.joinRecorded = true }
            return !s.joinRecorded
        }
        if first {
            Tracer.record(.join, [.int(Int64(pid ?? 0)), .uint(puid), .status(status)])
            ChildRegistry.remove(self)
        }
        return status
    }
}


