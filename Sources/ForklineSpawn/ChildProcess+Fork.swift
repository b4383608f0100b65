import CForkline
import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

extension ChildProcess {
    /// fork(): the child runs the closure (or entry point) in a copy of this process. `stdio`:
    /// the descriptors the child gets as 0, 1 and 2 (-1: inherit), as plain numbers: with the
    /// descriptor arrays here, the optimizer released (and once freed) an array after `fork()`
    /// in the child, each a write to a page of the parent's heap (6 page faults a child).
    func startFork(stdio: (Int32, Int32, Int32), pid me: Int32) throws(SpawnError) -> Started {
        let parent = ChildProcess.current(pid: me)
        let traceDir = Tracer.directory
        // Reserve the fork record first: the child's start names its sequence number, and the
        // fork's timestamp precedes anything the child records.
        let pending = reserveForkRecord()
        // Read here (the child's environment is applied after it becomes a child, as before).
        let crashReport = ChildSetup.wantsRuntimeCrashReport
        ChildSetup.prepareParent()
        // The writer was installed on the thread that made the first start; this one may have
        // no alternate stack yet (the main thread with the runtime's backtracer off), and the
        // child, which only checks the writer is in place, runs it on the stack it inherits.
        fl_crash_thread_ensure()
        // Hold the locks a child inherits so no other thread leaves them torn mid-update; the
        // child drops the parent's unwritten stdout and stderr (or it would print them again).
        let stdioHeld = fl_stdio_hold_for_fork()
        Tracer.state.acquire()
        ChildRegistry.state.acquire()
        let pid = Glibc.fork()
        if pid == 0 {
            runForkChild(parent: parent, stdio: stdio, stdioHeld: stdioHeld, traceDirectory: traceDir,
                         forkSeq: pending?.seq ?? 0, crashReport: crashReport)
        }
        ChildRegistry.state.release()
        Tracer.state.release()
        if stdioHeld != 0 { fl_stdio_release_in_parent() }
        if pid < 0 {
            let err = errno
            pending?.cancel()
            throw .system("fork", err, "\(name): starting a fork child")
        }
        pending?.setInt32(pid, at: 0)
        pending?.commit()
        return try watch(pid)
    }

    /// The fork child's side; never returns. Its arguments are borrowed and it is not inlined,
    /// so the child releases nothing of the parent's side of `startFork` (the optimizer had a
    /// child free an array there: its first writes to malloc's pages and the runtime's code for
    /// it, 4 page faults a child). What it does first is one C function (`fl_fork_child_setup`).
    @inline(never)
    func runForkChild(parent: ProcessIdentity, stdio: (Int32, Int32, Int32), stdioHeld: Int32, traceDirectory: String?,
                      forkSeq: UInt64, crashReport: Bool) -> Never {
        ChildRegistry.state.release()
        Tracer.state.release()
        let keep = options.inheritedDescriptors
        keep.withUnsafeBufferPointer {
            fl_fork_child_setup(stdioHeld, parent.pid, stdio.0, stdio.1, stdio.2, 1, $0.baseAddress, Int32($0.count))
        }
        ChildSetup.afterFork()
        if !keep.isEmpty { ChildProcess.inheritedMap.withLock { m in for fd in keep { m[fd] = fd } } }
        ChildProcess.becomeChild(name: name, puid: puid, parent: parent, runtimeCrashReport: crashReport)
        if !ChildSetup.applyEnvironment(options.environment, cwd: options.workingDirectory) { fl_exit_now(1) }
        if let traceDirectory {
            let origin = Tracer.Origin(
                parentPuid: parent.puid, parentPid: parent.pid, forkerPuid: parent.puid,
                forkSeq: forkSeq, method: .fork, name: name, entry: body.entryName)
            do { try Tracer.open(directory: traceDirectory, origin: origin, puid: puid) } catch {
                Tracer.warnTracingFailure("forkline: tracing disabled in \(name) (pid \(fl_getpid())): \(error)", directory: traceDirectory)
            }
        }
        // The body is borrowed from `self`, not copied: a copy retained the closure's context
        // (a write to a page of the parent's heap) and ran the enum's copy witness (its text).
        switch body {
        case .closure(let f): ChildSetup.runAndExit(name: name, f, immediate: true)
        case .entry(let e, let args): ChildSetup.runAndExit(name: name, { try e.run(encodedArguments: args) }, immediate: true)
        }
    }

    /// Reserves the `fork` record, its arguments built only when tracing. Not inlined, so that
    /// the argument array is freed here, before `fork()`: inlined into `startFork`, the optimizer
    /// released it after the fork, and every child freed it (its first writes to malloc's pages
    /// and the runtime's code for it: 4 of a fork child's page faults, `perf record -e
    /// minor-faults` of `forkline-bench --start`).
    @inline(never)
    func reserveForkRecord() -> PendingRecord? {
        guard Tracer.isEnabled else { return nil }
        return Tracer.reserve(.fork, [
            .int(0), .uint(puid), .uint(UInt64(StartMethod.fork.rawValue)), .string(body.entryName),
            .uint(0), .uint(0), .backtrace(Backtrace.captureIfTracing(skipping: 2)),
        ])
    }

    /// Opens a pidfd on a new child of ours (fork, spawn): the descriptor join waits on and
    /// signals go through. Without one the child cannot be waited for asynchronously, so it is
    /// ended and reaped (and the join recorded) rather than lost.
    func watch(_ pid: Int32) throws(SpawnError) -> Started {
        let pidfd = fl_pidfd_open(pid)
        guard pidfd >= 0 else {
            _ = Glibc.kill(pid, SIGKILL)
            let status = Sys.waitForExit(pid) ?? .signaled(SIGKILL)
            Tracer.record(.join, [.int(Int64(pid)), .uint(puid), .status(status)])
            throw .system("pidfd_open", -pidfd, "\(name): watching the new child")
        }
        return Started(pid: pid, waitFD: pidfd, signalFD: pidfd)
    }
}
