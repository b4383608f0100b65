import CForkline
import ForklineChannels
import ForklineSpawn
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

extension PoolDriver {
    /// Starts worker `id`: a child running the worker loop, with its end of a duplex connection.
    func startWorker(_ id: Scheduler.WorkerID) {
        do {
            let ring = try ReplyRing()
            // The worker has its own descriptor (or mapping) once started: the driver keeps the mapping.
            defer { ring.closeDescriptor() }
            let cancels = try CancelBoard()
            defer { cancels.closeDescriptor() }
            // A remote worker's local end relays its tasks from the connection.
            let tasks = remote == nil ? try TaskRing() : nil
            defer { tasks?.closeDescriptor() }
            let (mine, theirs) = try Connection.pipe()
            var options = ChildOptions(name: "PoolWorker-\(id)", method: method, daemon: true)
            options.pass(theirs)
            options.inheritedDescriptors += [ring.fd, wakeWrite, cancels.fd]
            if let tasks { options.inheritedDescriptors.append(tasks.fd) }
            let args = WorkerArguments(connection: theirs, pool: pool, initializer: initializer?.entry,
                                       initializerArguments: initializer?.arguments, ring: ring.fd, wake: wakeWrite,
                                       remote: remote?.spec(for: id), cancels: cancels.fd, tasks: tasks?.fd)
            // A fork worker runs the loop on the arguments it inherits: nothing to decode on its
            // way to `ready` (the first JSON decode in a fork child could wait forever on a
            // runtime lock another thread held at the fork: PoolWorker.rehearse).
            let child = method == .fork
                ? ChildProcess(options: options) { PoolWorker.runForked(args) }
                : ChildProcess(entry: PoolWorker.entry, encodedArguments: try PoolWorker.encodeArguments(args), options: options)
            do { try child.start() } catch {
                mine.close()
                theirs.close()
                throw error
            }
            theirs.close()
            workers[id] = WorkerHandle(child: child, connection: mine, fd: mine.fileDescriptors[0], pid: child.pid ?? 0, ring: ring,
                                       tasks: tasks, cancels: cancels)
            pids.withLock { $0[id] = child.pid ?? 0 }
        } catch {
            perform(scheduler.exited(id, status: nil, startError: "starting a pool worker: \(error)", now: fl_monotonic_ns()))
        }
    }

    /// Handles the replies worker `id` published in its ring, in order, up to a marker (whose
    /// reply comes over the connection), or through the first marker when `throughMarker`.
    func drainRing(_ id: Scheduler.WorkerID, throughMarker: Bool = false) {
        guard let w = workers[id], !w.ringBroken else { return }
        let tracing = Tracer.isEnabled
        // Tasks are handed out once the replies at hand are handled, not after each one.
        var delivered = false
        defer { if delivered { perform(scheduler.dispatch(now: fl_monotonic_ns())) } }
        while let r = w.ring.peek() {
            if r.marker {
                if throughMarker { w.ring.consume(to: r.next) }
                return
            }
            w.ring.consume(to: r.next)
            guard let (task, reply) = r.reply else {
                workers[id]?.ringBroken = true
                try? w.child.kill()
                return
            }
            if tracing {
                Tracer.recordWords(.recv, w.connection.channel, r.senderPuid, r.sendSeq, UInt64(r.size))
            }
            delivered = deliver(id, task, reply, pid: w.pid, now: r.endNs, dispatching: false) || delivered
            // Looked up, not copied out: a copy of the handle retains and releases each of its parts.
            guard workers.index(forKey: id) != nil else { return }
        }
    }

    func drainRings() {
        for id in workers.keys.sorted() { drainRing(id) }
    }

    /// A worker's reply to a task: delivered if it is the task the scheduler knows it runs (a
    /// reply to a task already failed, by `terminate`, is dropped).
    /// `dispatching` false: the caller hands out queued tasks afterwards. True when delivered.
    @discardableResult
    func deliver(_ id: Scheduler.WorkerID, _ task: UInt64, _ reply: TaskReply, pid: Int32, now: UInt64,
                 dispatching: Bool = true) -> Bool {
        guard scheduler.head(of: id) == task else { return false }
        pendingReply = (task, reply, pid)
        // Taken out while performed: `perform` may come back here (it does not now).
        var actions = replyActions
        replyActions = []
        scheduler.finished(id, task, now: now, dispatching: dispatching, into: &actions)
        perform(actions)
        actions.removeAll(keepingCapacity: true)
        replyActions = actions
        pendingReply = nil
        return true
    }

    /// The error a caller gets for a task that failed without a reply.
    func error(for failure: Scheduler.Failure, task: UInt64, chunkSize payload: [UInt8]) -> PoolError {
        switch failure {
        case .workerDied(let w, let status):
            let handle = departed[w]?.0
            let pid = handle?.pid ?? 0
            var e = PoolError(.workerDied, "task \(task): its worker (pid \(pid)) died while running it: \(status.map(describe) ?? "status unknown"); a new worker took its place")
            e.workerPid = pid
            if let note = handle?.startError.flatMap(RemoteNote.parse) {
                e.workerHost = note.host
                e.message = "task \(task): its \(note.message); a new worker took its place (\(status.map(describe) ?? "status unknown"))"
            }
            switch status {
            case .signaled(let s): e.signal = s
            case .exited(let c): e.exitCode = c
            case nil: break
            }
            if let handle, case .signaled(let s) = status, let report = handle.ring.crashReport(), report.signal == s {
                e.backtrace = report.frames
                e.faultAddress = report.address
                e.signalCode = report.code
                e.message += " (at pc 0x\(String(report.pc, radix: 16)), fault address 0x\(String(report.address, radix: 16)), si_code \(report.code))"
            }
            return e
        case .timedOut(let w):
            let pid = departed[w]?.0.pid ?? 0
            var e = PoolError(.timedOut, "task \(task): ran past its timeout; its worker (pid \(pid)) was killed and replaced")
            e.workerPid = pid
            e.signal = SIGKILL
            return e
        case .cancelled: return PoolError(.cancelled, "task \(task): cancelled by its caller")
        case .terminated: return PoolError(.terminated, "task \(task): the pool was terminated before it finished")
        case .noWorkers(let why):
            return PoolError(.workerStartFailed, "task \(task): no pool worker could start\(why.map { ": \($0)" } ?? " (they exited before they were ready)")")
        }
    }

    func describe(_ status: ExitStatus) -> String {
        switch status {
        case .signaled(let s): "killed by \(signalName(s))"
        case .exited(let c): "exited with code \(c)"
        }
    }
}
