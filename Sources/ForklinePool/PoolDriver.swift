import CForkline
import ForklineSystem
import ForklineChannels
import ForklineSpawn
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// What callers ask the driver thread for.
enum PoolCommand: Sendable {
    case submit(CallSubmission)
    case cancel([UInt64])
    case close
    case terminate
    /// Tests: SIGKILL the n-th live worker (modulo their number).
    case killWorker(Int)
}

/// A call's tasks, ready to run: chunk `i` is task `firstTask + i`.
struct CallSubmission: @unchecked Sendable {
    // @unchecked: `state` is created by the caller and from then on touched only by the driver
    // thread (it travels once, through the inbox lock).
    var state: CallState
    var firstTask: UInt64
    var function: String
    var payloads: [[UInt8]]
    /// Chunks whose inputs could not be encoded: they fail at their place, unsent.
    var failed: [Int: PoolError] = [:]
    var timeout: UInt64?
    /// Each payload is the task's one `[UInt8]` input itself, not its chunk
    /// (``WorkerMessage/Job/rawBytes``).
    var rawBytes = false
}

/// The pool's shell: one thread that owns the ``Scheduler``, the workers, their connections and
/// reply rings, polls the connections and a wake-up socket, and performs the scheduler's actions.
/// Callers talk to it through `inbox` and read outcomes from their call's stream. Workers publish
/// replies in their ``ReplyRing``, drained every loop turn; before it sleeps the driver raises
/// each ring's asleep flag and looks once more, and a worker that finds the flag raised (at the
/// points ``PoolWorker`` chooses) wakes it with a byte on the wake-up socket.
final class PoolDriver: @unchecked Sendable {
    // @unchecked: everything but `inbox` and `done` is touched only by the driver thread; those
    // two are locked.
    struct Inbox {
        var commands: [PoolCommand] = []
        var wakePending = false
        var pipeClosed = false
        /// Set by the driver before it sleeps while tasks wait undispatched: a worker's reply is
        /// sure to wake it then, and a new task would only queue behind those, so a submission
        /// is left in the inbox without a wake-up byte (one system call and one wake-up of the
        /// driver fewer per task when callers outrun the workers). Cancels and the rest always
        /// wake it; a queued task's timeout counts from when it reaches its worker.
        var backlog = false
    }

    struct WorkerHandle {
        var child: ChildProcess
        var connection: Connection
        var fd: Int32
        var pid: Int32
        var startError: String?
        var buffer = FrameBuffer()
        var ring: ReplyRing
        /// Where its tasks go (nil: over the connection, a remote worker's local end).
        var tasks: TaskRing?
        /// The tasks the worker must drop (``PoolCancellation/abandon``).
        var cancels: CancelBoard?
        /// A record of the ring could not be read: nothing more is read from it.
        var ringBroken = false
        /// Sealed frames not yet written (from `unsentAt` on): the driver never blocks on a
        /// worker's socket; it writes the rest when poll says there is room.
        var unsent: [UInt8] = []
        var unsentAt = 0
        var hasUnsent: Bool { unsentAt < unsent.count }
    }

    struct Done {
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        /// Why the driver ended, for a submission that arrives after it did.
        var endReason: Scheduler.Failure = .terminated
    }

    /// The driver's poll never sleeps longer than this (ms) with a deadline pending: a deadline
    /// an hour away is looked at again each minute rather than computed into one long sleep.
    static let longestPollMs: Int32 = 60_000

    let pool: UInt64
    let method: StartMethod
    let initializer: PoolInitializer?
    /// A pool with remote workers: each worker process is a remote worker's local end.
    let remote: RemoteSession?
    let inbox = ForkSafeLock(Inbox())
    /// The pids of the live workers, for ``Pool/workerPIDs``.
    let pids = ForkSafeLock([Scheduler.WorkerID: Int32]())
    let done = ForkSafeLock(Done())
    let wakeRead: Int32
    let wakeWrite: Int32
    var scheduler: Scheduler
    var workers: [Scheduler.WorkerID: WorkerHandle] = [:]
    var departed: [Scheduler.WorkerID: (WorkerHandle, ExitStatus?)] = [:]
    /// Workers whose connection ended, until they are reaped.
    var ending: [Scheduler.WorkerID: Ending] = [:]
    var bodies = TaskTable<(call: CallState, chunk: Int, base: UInt64, function: String, payload: [UInt8], rawBytes: Bool)>()
    /// The array the scheduler's actions for one reply go into, reused (``deliver``).
    var replyActions: [Scheduler.Action] = []
    /// The reply being delivered (``deliver(_:_:_:pid:now:)`` sets it, the scheduler's
    /// `deliverReply` for that task takes it): one slot, not a table looked up twice per task.
    var pendingReply: (task: UInt64, reply: TaskReply, pid: Int32)?
    /// `apply` outcomes read from the workers in this loop turn, handed to their callers after
    /// the workers were given their next tasks (``handOverSingles()``): resuming a caller wakes
    /// a thread of the caller's executor, and on 2 CPUs that thread can take the driver's CPU
    /// while the worker that just replied waits, asleep, for its next task. Nil while not
    /// collecting (never between loop turns).
    var singles: [(CallState, ChunkOutcome)]? = []
    /// The buffer each worker's `run` message is built in (and written from): no fresh pages.
    var sendScratch: [UInt8] = []
    /// Tasks dispatched but not yet written: all of a worker's go in one message per loop turn.
    var outbox: [Scheduler.WorkerID: [WorkerMessage.Job]] = [:]
    /// The functions ``PoolWorker/rehearse(_:payload:)`` ran for (fork pools only).
    var rehearsed: Set<String> = []
    /// Posted once the first workers were started (see ``waitInitialWorkers()``).
    let initialWorkers: UnsafeMutablePointer<sem_t> = {
        let p = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
        sem_init(p, 0, 0)
        return p
    }()
    /// Told what happens (``PoolObserver``), when the pool was made with one.
    let observer: PoolObserver?
    /// The `maxPending` bound: each delivered task gives its room back.
    let admission: Admission
    /// Callers waiting in ``Pool/waitUntilReady()``, and how many workers became ready.
    let readiness = ForkSafeLock(Readiness())
    /// With an observer: when each undelivered task was submitted (ns), and the last load told.
    var submittedAt: [UInt64: UInt64] = [:]
    var lastLoad = (pending: -1, busy: -1, workers: -1)

    init(pool: UInt64, method: StartMethod, initializer: PoolInitializer?, config: Scheduler.Config,
         observer: PoolObserver? = nil, admission: Admission = Admission(limit: nil, policy: .wait),
         remote: RemoteSession? = nil) throws(PoolError) {
        self.pool = pool
        self.remote = remote
        self.observer = observer
        self.admission = admission
        self.method = method
        self.initializer = initializer
        self.scheduler = Scheduler(config)
        // Workers report their crashes' backtraces: fork workers inherit the loaded unwinder.
        if method == .fork { _ = fl_unwind_load() }
        // A socket pair rather than a pipe: workers write to it too, with MSG_NOSIGNAL.
        switch Syscall.socketPair() {
        case .success(let (a, b)):
            wakeRead = a
            wakeWrite = b
        case .failure(let e):
            throw PoolError(.systemCallFailed, "creating the pool's wake-up socket: socketpair failed: \(e)")
        }
    }

    deinit {
        closePipe()
        sem_destroy(initialWorkers)
        initialWorkers.deallocate()
    }

    /// Blocks until the driver has started (forked) the pool's first workers: a fork pool's
    /// constructor waits, so that its caller's thread is not running, and perhaps holding a
    /// runtime lock of the Swift runtime in the middle of its first use of a type, while the
    /// workers are forked (``PoolWorker/rehearse(_:payload:)`` says why that matters). A few
    /// milliseconds at most: forks, no waiting for the workers.
    func waitInitialWorkers() {
        while sem_wait(initialWorkers) != 0 && errno == EINTR {}
    }

    /// Closes the wake-up pipe once (when the driver ends, so `join` returns with no descriptor
    /// of the pool left open).
    /// Returns the commands that arrived after the driver's last look at its inbox.
    @discardableResult
    func closePipe() -> [PoolCommand] {
        inbox.withLock { i in
            guard !i.pipeClosed else { return [] }
            i.pipeClosed = true
            _ = Glibc.close(wakeRead)
            _ = Glibc.close(wakeWrite)
            defer { i.commands = [] }
            return i.commands
        }
    }

    /// Fails a submission the driver will never run, with the reason it ended.
    func failLate(_ command: PoolCommand) {
        guard case .submit(let s) = command else { return }
        admission.release(s.payloads.count)
        let reason = done.withLock { $0.endReason }
        for i in s.payloads.indices {
            let task = s.firstTask + UInt64(i)
            s.state.resolve(chunk: i, task: task, taskBase: s.firstTask,
                            .failure(error(for: reason, task: task, chunkSize: [])))
        }
    }

    /// Queues a command and wakes the driver (one byte in the pipe at most). The write happens
    /// under the inbox lock, so it never races with the driver closing the pipe when it ends.
    ///
    /// A submission that arrives after the driver ended (every worker failed to start, or the
    /// pool was terminated) fails at once with the reason, on the caller's thread: the driver no
    /// longer touches its state. It used to vanish, and its caller waited forever.
    func send(_ command: PoolCommand) {
        let accepted = inbox.withLock { i in
            guard !i.pipeClosed else { return false }
            i.commands.append(command)
            if i.backlog, case .submit(let c) = command, c.failed.isEmpty { return true }
            guard !i.wakePending else { return true }
            i.wakePending = true
            let b: UInt8 = 1
            _ = withUnsafeBytes(of: b) { Syscall.writeAll(wakeWrite, $0) }
            return true
        }
        if !accepted { failLate(command) }
    }

    var isFinished: Bool { done.withLock { $0.finished } }

    /// Suspends until the driver has finished (every worker exited).
    func waitFinished() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = done.withLock { d in
                if d.finished { return true }
                d.waiters.append(c)
                return false
            }
            if now { c.resume() }
        }
    }

    /// Starts the driver thread.
    func launch() throws(PoolError) {
        let box = Unmanaged.passRetained(self)
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let driver = Unmanaged<PoolDriver>.fromOpaque(raw!).takeRetainedValue()
            driver.run()
            return nil
        }, box.toOpaque())
        guard rc == 0 else {
            box.release()
            throw PoolError(.systemCallFailed, "starting the pool's driver thread: pthread_create failed: \(String(cString: strerror(rc)))")
        }
        pthread_detach(thread)
    }

    func run() {
        if method == .fork { PoolWorker.rehearse("", payload: []) }
        perform(scheduler.start())
        sem_post(initialWorkers)
        var fds: [pollfd] = []
        var ids: [Scheduler.WorkerID] = []
        var wakeBytes = [UInt8](repeating: 0, count: 64)
        var lagging = false
        while scheduler.phase != .finished {
            drainRings()
            perform(scheduler.tick(now: fl_monotonic_ns()))
            if scheduler.phase == .finished { break }
            flushAll()
            handOverSingles()
            fds.removeAll(keepingCapacity: true)
            ids.removeAll(keepingCapacity: true)
            fds.append(pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0))
            for (id, w) in workers {
                fds.append(pollfd(fd: w.fd, events: Int16(POLLIN), revents: 0))
                ids.append(id)
            }
            // Workers with frames still to write: room in their socket wakes the driver too.
            let writable = fds.count
            var writers: [Scheduler.WorkerID] = []
            for (id, w) in workers where w.hasUnsent {
                fds.append(pollfd(fd: w.connection.sendDescriptor, events: Int16(POLLOUT), revents: 0))
                writers.append(id)
            }
            let reaping = fds.count
            for e in ending.values where e.pidfd >= 0 { fds.append(pollfd(fd: e.pidfd, events: Int16(POLLIN), revents: 0)) }
            var timeout: Int32 = -1
            if let deadline = scheduler.nextDeadline {
                let now = fl_monotonic_ns()
                timeout = deadline <= now ? 0 : Int32(min(UInt64(Self.longestPollMs), (deadline - now + 999_999) / 1_000_000))
            }
            // Records waiting for room in a worker's task ring: looked at again shortly.
            if workers.values.contains(where: { $0.tasks.map { !$0.backlog.isEmpty } == true }) && (timeout < 0 || timeout > 1) { timeout = 1 }
            let endingTimeout = endingPollTimeout(lagging)
            if endingTimeout >= 0 && (timeout < 0 || endingTimeout < timeout) { timeout = endingTimeout }
            // Raise the asleep flags, then look once more: a reply published before a worker could
            // see its flag is read now, and one after it comes with a wake-up byte.
            for w in workers.values { w.ring.setSleeping(true) }
            if workers.values.contains(where: { $0.ring.hasAnnouncedUnread && !$0.ringBroken }) { timeout = 0 }
            // Submissions left without a wake-up byte while the last turn had a backlog are
            // handled now if there is none any more.
            let backlog = scheduler.queuedTasks > 0 && workers.values.contains { !$0.ringBroken }
            if inbox.withLock({ i in i.backlog = backlog; return !backlog && !i.commands.isEmpty }) { timeout = 0 }
            _ = Syscall.poll(&fds, timeoutMs: timeout)
            for w in workers.values { w.ring.setSleeping(false) }
            if fds[0].revents != 0 {
                _ = wakeBytes.withUnsafeMutableBytes { Syscall.receive(wakeRead, into: $0, flags: Int32(MSG_DONTWAIT)) }
            }
            let commands = inbox.withLock { i in
                i.wakePending = false
                i.backlog = false
                defer { i.commands = [] }
                return i.commands
            }
            for c in commands { handle(c) }
            for (k, id) in ids.enumerated() where fds[k + 1].revents != 0 {
                readWorker(id)
            }
            for (k, id) in writers.enumerated() where fds[writable + k].revents != 0 {
                writeUnsent(id)
            }
            // A worker that ended: reaped here, never waited for. One whose pidfd said it ended
            // but whose status is not there yet (forkserver) is looked at again shortly.
            let ended = fds[reaping...].contains { $0.revents != 0 }
            let before = ending.count
            if ended || !ending.isEmpty { reapEnding() }
            lagging = ended && ending.count == before
            if observer != nil { observeLoad() }
        }
        handOverSingles()
        remote?.removeKey()
        let reason: Scheduler.Failure = scheduler.isBroken ? .noWorkers(scheduler.lastStartError) : .terminated
        done.withLock { $0.endReason = reason }
        // A submission accepted after the last look at the inbox would otherwise never end.
        for c in closePipe() { failLate(c) }
        endReadiness(reason)
        let waiters = done.withLock { d in
            d.finished = true
            defer { d.waiters = [] }
            return d.waiters
        }
        for w in waiters { w.resume() }
    }

    /// Resumes the `apply` callers whose outcomes this loop turn read (``singles``), in the
    /// order they were released.
    func handOverSingles() {
        guard var ready = singles, !ready.isEmpty else { return }
        singles = nil
        for (call, outcome) in ready { call.single?.finish(outcome) }
        ready.removeAll(keepingCapacity: true)
        singles = ready
    }

    /// Writes a worker's pending tasks in one message (in several task-ring records when they do
    /// not fit one). A failed write means the worker is gone:
    /// its end of file comes through poll.
    func flush(_ id: Scheduler.WorkerID) {
        guard let jobs = outbox.removeValue(forKey: id), !jobs.isEmpty, let i = workers.index(forKey: id) else { return }
        guard workers.values[i].tasks != nil, jobs.count > 1,
              WorkerMessage.run(jobs).encodedSize + TaskRing.recordHeader > TaskRing.largest else {
            return post(id, .run(jobs))
        }
        // Too large for one record of the task ring: several records, each as large as the ring
        // takes, rather than one message over the connection (a copy into a fresh buffer, a
        // socket write and the worker's read per batch, in the profile of 256 KiB tasks). Only
        // a single task too large for a record goes over the connection.
        var start = 0, size = 5
        for (k, j) in jobs.enumerated() {
            let one = j.encodedSize
            if k > start && size + one + TaskRing.recordHeader > TaskRing.largest {
                post(id, .run(Array(jobs[start..<k])))
                (start, size) = (k, 5)
            }
            size += one
        }
        post(id, .run(Array(jobs[start...])))
    }

    /// Sends `message` to worker `id` without blocking: what the socket does not take now waits
    /// in the worker's `unsent` bytes, behind any frame already waiting there, and goes out when
    /// poll finds room (``writeUnsent(_:)``). So a worker that holds several large tasks, and is
    /// itself blocked writing a large reply, can never block the driver.
    ///
    /// A local worker's messages go into its ``TaskRing`` (no system call unless the worker
    /// sleeps); only one too large for the ring takes the connection, behind a marker there.
    func post(_ id: Scheduler.WorkerID, _ message: WorkerMessage) {
        guard let w = workers[id] else { return }
        if let ring = w.tasks {
            let inRing = ring.post(message, channel: w.connection.channel, scratch: &sendScratch)
            ring.announce()
            if inRing {
                if sendScratch.capacity > 1 << 20 { sendScratch = [] }
                return
            }
        }
        if w.hasUnsent {
            var frame = message.encode(room: Connection.frameHeaderRoom)
            guard (try? w.connection.seal(framed: &frame)) != nil else { return }
            workers[id]!.unsent.append(contentsOf: frame)
            return
        }
        message.encode(room: Connection.frameHeaderRoom, into: &sendScratch)
        guard (try? w.connection.seal(framed: &sendScratch)) != nil else { return }
        let sent = (try? sendScratch.withUnsafeBytes { (b) throws(ChannelError) in try w.connection.sendSome(b) }) ?? sendScratch.count
        if sent < sendScratch.count {
            workers[id]!.unsent = Array(sendScratch[sent...])
            workers[id]!.unsentAt = 0
        }
        // A buffer grown for a large batch is let go; one for usual batches is kept.
        if sendScratch.capacity > 1 << 20 { sendScratch = [] }
    }

    /// Writes what the socket of worker `id` takes now of its unsent frames. A failed write
    /// means the worker is gone (its end comes through poll): its unsent bytes are dropped.
    func writeUnsent(_ id: Scheduler.WorkerID) {
        guard let w = workers[id], w.hasUnsent else { return }
        let at = w.unsentAt
        let sent = try? w.unsent.withUnsafeBytes { (b) throws(ChannelError) in
            try w.connection.sendSome(UnsafeRawBufferPointer(rebasing: b[at...]))
        }
        guard let sent else {
            workers[id]!.unsent = []
            workers[id]!.unsentAt = 0
            return
        }
        if at + sent == w.unsent.count {
            workers[id]!.unsent = []
            workers[id]!.unsentAt = 0
        } else {
            workers[id]!.unsentAt = at + sent
        }
    }

    /// Writes the pending tasks of each worker that has done at least half of what it holds
    /// (it holds no more tasks than are pending for it): a worker is topped up in batches, not
    /// one task per reply, and never runs dry while tasks wait for it.
    func flushAll() {
        for w in workers.values where w.tasks.map({ !$0.backlog.isEmpty }) == true {
            w.tasks!.flushBacklog()
            w.tasks!.announce()
        }
        for (id, jobs) in outbox where !jobs.isEmpty {
            if scheduler.outstanding(id).count - jobs.count <= jobs.count { flush(id) }
        }
    }

    func handle(_ command: PoolCommand) {
        let now = fl_monotonic_ns()
        switch command {
        case .submit(let s):
            if method == .fork, let first = s.payloads.indices.first(where: { s.failed[$0] == nil }).map({ s.payloads[$0] }),
               rehearsed.insert(s.function).inserted {
                PoolWorker.rehearse(s.function, payload: s.rawBytes ? ScalarChunks.byteArrays([first][...]) : first)
            }
            if observer != nil { observeSubmit(s, now: now) }
            for (i, payload) in s.payloads.enumerated() {
                let task = s.firstTask + UInt64(i)
                if let e = s.failed[i] {
                    s.state.resolve(chunk: i, task: task, taskBase: s.firstTask, .failure(e))
                    continue
                }
                bodies[task] = (s.state, i, s.firstTask, s.function, payload, s.rawBytes)
                perform(scheduler.submit(task, size: payload.count, timeout: s.timeout, now: now, dispatching: false))
            }
            perform(scheduler.dispatch(now: now))
        case .cancel(let tasks): perform(scheduler.cancel(tasks))
        case .close:
            Tracer.record(.poolClose, [.uint(pool), .uint(0)])
            perform(scheduler.close())
        case .terminate:
            Tracer.record(.poolClose, [.uint(pool), .uint(1)])
            perform(scheduler.terminate())
        case .killWorker(let n):
            // Through the child's pidfd, by the only thread that reaps workers: never a reused pid.
            let ids = workers.keys.sorted()
            if !ids.isEmpty { try? workers[ids[n % ids.count]]?.child.kill() }
        }
    }

    /// Reads the messages a readable worker has (one non-blocking read), or handles its end.
    func readWorker(_ id: Scheduler.WorkerID) {
        // What the worker put in its ring before it wrote to its socket comes first, so the
        // trace's receive order is its send order (a lost remote worker's note follows the
        // replies its local end published just before: SlurmPoolTests' killed worker saw
        // "send #13 after #15" once). A marker stops this drain; the reply behind it is next.
        drainRing(id)
        guard var w = workers[id] else { return }
        let frames: [[UInt8]]?
        do { frames = try w.connection.receiveAvailable(&w.buffer) } catch { frames = nil }
        workers[id]?.buffer = w.buffer
        guard let frames else {
            workerEnded(id)
            return
        }
        for bytes in frames {
            guard let message = WorkerMessage.decode(bytes) else {
                workerEnded(id)
                return
            }
            let now = fl_monotonic_ns()
            switch message {
            case .ready(let pid):
                workers[id]?.pid = pid
                observer?.pool(pool, .workerStarted(pid: pid))
                noteReady()
                perform(scheduler.ready(id, now: now))
            case .initFailed(let why):
                workers[id]?.startError = why
            case .reply(let task, let reply):
                // Too large for the ring: the worker put a marker there first, so the replies
                // before this one are handled first.
                drainRing(id, throughMarker: true)
                guard workers[id] != nil else { return }
                deliver(id, task, reply, pid: w.pid, now: now)
            case .run, .stop:
                workerEnded(id)
                return
            }
        }
    }

    func perform(_ actions: [Scheduler.Action]) {
        for a in actions {
            switch a {
            case .startWorker(let id): startWorker(id)
            case .send(let id, let tasks, let attempts):
                guard let w = workers.index(forKey: id) else { continue }
                let tracing = Tracer.isEnabled
                var jobs = outbox.removeValue(forKey: id) ?? []
                jobs.reserveCapacity(jobs.count + tasks.count)
                for (t, attempt) in zip(tasks, attempts) {
                    guard let b = bodies[t] else { continue }
                    if tracing { Tracer.recordWords(.poolDispatch, pool, t, workers.values[w].child.puid, UInt64(attempt)) }
                    jobs.append(.init(task: t, function: b.function, payload: b.payload[...], rawBytes: b.rawBytes))
                }
                outbox[id] = jobs
            case .stopWorker(let id):
                flush(id)
                post(id, .stop)
            case .killWorker(let id):
                outbox[id] = nil
                try? (workers[id]?.child ?? ending[id]?.handle.child)?.kill()
            case .dropHeld(let id, let task): workers[id]?.cancels?.post(task)
            case .deliverReply(let task):
                guard let p = pendingReply, p.task == task, let b = bodies.removeValue(forKey: task) else { continue }
                pendingReply = nil
                let (reply, pid) = (p.reply, p.pid)
                // A task its worker dropped unrun (its caller was cancelled: CancelBoard) fails
                // as cancelled; one it ran delivers its reply, which nobody awaits.
                let dropped = reply == .dropped
                b.call.resolve(chunk: b.chunk, task: task, taskBase: b.base,
                               dropped ? .failure(error(for: .cancelled, task: task, chunkSize: b.payload)) : .reply(reply, pid),
                               handOver: &singles)
                // After the result is handed over (and traced): its room in maxPending goes to
                // the next caller only then.
                delivered(task, dropped ? .cancelled : .replied)
            case .deliverFailure(let task, let failure):
                guard let b = bodies.removeValue(forKey: task) else { continue }
                if pendingReply?.task == task { pendingReply = nil }
                b.call.resolve(chunk: b.chunk, task: task, taskBase: b.base, .failure(error(for: failure, task: task, chunkSize: b.payload)))
                delivered(task, outcome(of: failure))
            case .replaced(let old, let new, let reason):
                let oldPuid = departed[old]?.0.child.puid ?? 0
                let newPuid = workers[new]?.child.puid ?? 0
                Tracer.record(.workerReplaced, [.uint(pool), .uint(oldPuid), .uint(newPuid), .uint(UInt64(reason.rawValue))])
                observer?.pool(pool, .workerReplaced(oldPid: departed[old]?.0.pid ?? 0, status: departed[old]?.1, reason: reason))
            case .finished: break
            }
        }
    }
}
