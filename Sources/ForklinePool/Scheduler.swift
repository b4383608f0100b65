import ForklineTrace

/// The pool's scheduler: a pure state machine, with no processes, descriptors or clocks of its
/// own. The shell (``Pool``) feeds it what happened (a task was submitted, a worker became ready,
/// finished a task or exited, time passed, the pool was closed) and performs the ``Action``s it
/// returns: start, feed, stop or kill a worker, deliver a task's outcome.
///
/// The rules it keeps:
/// - tasks go to ready workers, the least loaded first; a worker holds as many tasks as take
///   about `queuedWorkNs` by the measured average (at most `window`), so tiny tasks travel in
///   batches and long ones go to whichever worker is idle; and more than one only while their
///   payloads fit `windowBytes` (the driver's writes never block: it keeps what a socket does
///   not take, so this bounds that memory and keeps large tasks spread over the workers);
/// - a worker runs its tasks in order, so when it dies its first outstanding task is the one it
///   was running: that task fails (crash or timeout) and the others, never begun, are queued again
///   at the front (a re-dispatch with `attempt` + 1);
/// - a worker that reached `maxTasksPerChild` is stopped when idle and replaced;
/// - a task past its timeout (counted from when it became its worker's first task) has its worker
///   killed; the task then fails as timed out;
/// - workers that keep dying before they are ready (`maxStartFailures` in a row, SIGKILL aside)
///   break the pool: queued and later tasks fail;
/// - closing lets every submitted task finish; terminating fails what is left and kills workers.
package struct Scheduler: Sendable {
    package typealias TaskID = UInt64
    package typealias WorkerID = UInt64

    /// The scheduler's settings.
    package struct Config: Sendable, Hashable {
        package var workers: Int
        package var maxTasksPerChild: Int?
        /// The most tasks a worker may hold at once.
        package var window: Int
        /// How many it may hold before the first task's duration is known.
        package var initialWindow: Int
        /// A worker holds as many tasks as take about this long (by the measured average task
        /// duration), between 1 and `window`: short tasks are batched, long ones go one at a
        /// time to whichever worker is idle.
        package var queuedWorkNs: UInt64
        /// Beyond its first task, a worker holds tasks only while their payloads fit this.
        package var windowBytes: Int
        package var maxStartFailures: Int
        /// A cancelled task a worker holds kills that worker when it runs (or is about to run)
        /// the task, and a new worker replaces it; else the task runs to its end, unheard.
        package var killOnCancel = false

        package init(workers: Int, maxTasksPerChild: Int? = nil, window: Int = 64, initialWindow: Int? = nil,
                     queuedWorkNs: UInt64 = 400_000, windowBytes: Int = 1 << 20, maxStartFailures: Int = 3) {
            precondition(workers > 0 && window > 0)
            self.workers = workers
            self.maxTasksPerChild = maxTasksPerChild
            self.window = window
            self.initialWindow = min(window, initialWindow ?? window)
            self.queuedWorkNs = queuedWorkNs
            self.windowBytes = windowBytes
            self.maxStartFailures = maxStartFailures
        }
    }

    /// Why a task failed without a result from its worker.
    package enum Failure: Sendable, Hashable {
        /// Its worker died while running it (status nil: unknown).
        case workerDied(WorkerID, ExitStatus?)
        /// It ran past its timeout; its worker was killed.
        case timedOut(WorkerID)
        /// Its caller cancelled it before it was dispatched.
        case cancelled
        /// The pool was terminated first.
        case terminated
        /// No worker could be started (the last start error, if any).
        case noWorkers(String?)
    }

    /// Why a worker was replaced.
    package enum ReplaceReason: UInt8, Sendable, Hashable {
        case maxTasksPerChild = 0, died = 1, timedOut = 2, startFailed = 3
        /// It was killed because the caller of the task it ran cancelled it (``Config/killOnCancel``).
        case cancelled = 4
    }

    /// What the shell must do.
    package enum Action: Sendable, Hashable {
        /// Start a worker process with this id.
        case startWorker(WorkerID)
        /// Send these tasks to the worker, in order, in one message; `attempts` per task.
        case send(WorkerID, [TaskID], attempts: [Int])
        /// Tell the worker to exit once it has nothing left.
        case stopWorker(WorkerID)
        /// Kill the worker (SIGKILL).
        case killWorker(WorkerID)
        /// Tell the worker to drop this task, which it holds, if it has not begun it
        /// (``PoolCancellation/abandon``): ``CancelBoard``.
        case dropHeld(WorkerID, TaskID)
        /// The worker returned this task's reply: deliver it.
        case deliverReply(TaskID)
        /// The task failed without a reply: deliver the failure.
        case deliverFailure(TaskID, Failure)
        /// Worker `old` left and `new` (started by a preceding `startWorker`) takes its place.
        case replaced(old: WorkerID, new: WorkerID, ReplaceReason)
        /// Closed or terminated, and every worker has exited: `join` may return.
        case finished
    }

    package enum Phase: Sendable, Hashable { case created, running, closing, terminating, broken, finished }

    struct Worker: Sendable {
        var ready = false
        var outstanding: [TaskID] = []
        var bytesInFlight = 0
        var assigned = 0
        var stopping = false
        var killedFor: TaskID?
        /// Its connection ended; its exit is awaited.
        var gone = false
        /// `killedFor` was cancelled by its caller (not timed out).
        var killedToCancel = false
        /// When the first outstanding task became first (ns).
        var headSince: UInt64 = 0

        /// Its first outstanding task, `task` (of `size` bytes), ended at `now`: off its list,
        /// the next one first since `now`. How long it took as first (ns); nil, and nothing
        /// changed, when `task` is not its first.
        mutating func finishHead(_ task: TaskID, size: Int, now: UInt64) -> UInt64? {
            guard outstanding.first == task else { return nil }
            let took = now >= headSince ? now - headSince : 0
            outstanding.removeFirst()
            bytesInFlight -= size
            headSince = now
            return took
        }

        /// Marks it stopping when it holds nothing and has run its `limit` of tasks, or when
        /// `closingEmpty` (the pool closes with nothing queued); true when it did so now.
        mutating func stopIfIdle(limit: Int?, closingEmpty: Bool) -> Bool {
            guard outstanding.isEmpty, !stopping else { return false }
            guard closingEmpty || limit.map({ assigned >= $0 }) == true else { return false }
            stopping = true
            return true
        }
    }

    struct TaskState: Sendable {
        var size: Int
        var timeout: UInt64?
        var attempt = 0
        var worker: WorkerID?
        /// Cancelled by its caller while a worker held it.
        var cancelled = false
    }

    package let config: Config
    package private(set) var phase = Phase.created
    var workers: [WorkerID: Worker] = [:]
    /// By task id: an array, not a dictionary (``TaskTable``).
    var tasks = TaskTable<TaskState>()
    var queue = TaskQueue()
    /// ``dispatch(now:)``'s working arrays, reused between calls.
    var scratch = DispatchScratch()
    var nextWorker: WorkerID = 1
    /// The live workers' ids in order (kept beside `workers`, so dispatch does not sort).
    var ids: [WorkerID] = []
    /// Set once a task with a timeout was submitted: only then does `tick` look at the workers.
    var timeouts = false
    var startFailures = 0
    var lastStartError: String?
    /// The average task duration (ns, exponentially weighted), once one task has finished.
    package private(set) var averageTaskNs: UInt64?
    /// Set when workers kept dying before they were ready: every task fails from then on.
    package private(set) var isBroken = false

    package init(_ config: Config) { self.config = config }

    /// Workers alive (started, not yet exited).
    package var workerCount: Int { workers.count }
    /// Tasks submitted and not yet delivered.
    package var unfinishedTasks: Int { tasks.count }
    /// Tasks waiting for a worker.
    package var queuedTasks: Int { queue.count }
    /// The tasks the worker holds, the one it runs first.
    package func outstanding(_ w: WorkerID) -> [TaskID] { workers[w]?.outstanding ?? [] }
    /// The task the worker runs (its first outstanding one), if any.
    package func head(of w: WorkerID) -> TaskID? {
        // Through the index: `workers[w]?` copies the worker out (its `outstanding` retained), once per reply.
        workers.index(forKey: w).flatMap { workers.values[$0].outstanding.first }
    }
    /// How many tasks the worker was given.
    package func assigned(_ w: WorkerID) -> Int { workers[w]?.assigned ?? 0 }
    /// The ids of the workers alive.
    package var workerIDs: [WorkerID] { ids }

    /// Starts the pool's workers.
    package mutating func start() -> [Action] {
        precondition(phase == .created)
        phase = .running
        return (0..<config.workers).map { _ in .startWorker(newWorker()) }
    }

    mutating func newWorker() -> WorkerID {
        defer { nextWorker += 1 }
        workers[nextWorker] = Worker()
        ids.append(nextWorker)
        return nextWorker
    }

    /// A task was submitted: `size` is its payload's size in bytes; `timeout` in ns.
    /// `dispatching` false: queued, not handed out until the caller calls ``dispatch(now:)``
    /// (the pool's driver, once per submitted call rather than once per task).
    package mutating func submit(_ id: TaskID, size: Int, timeout: UInt64? = nil, now: UInt64, dispatching: Bool = true) -> [Action] {
        precondition(tasks[id] == nil, "task \(id) submitted twice")
        if isBroken { return [.deliverFailure(id, .noWorkers(lastStartError))] }
        switch phase {
        case .broken: return [.deliverFailure(id, .noWorkers(lastStartError))]
        case .terminating, .finished: return [.deliverFailure(id, .terminated)]
        case .created, .running, .closing: break
        }
        tasks[id] = TaskState(size: size, timeout: timeout)
        if timeout != nil { timeouts = true }
        queue.append(id)
        return dispatching ? dispatch(now: now) : []
    }

    /// A worker finished starting (and ran its initializer).
    package mutating func ready(_ w: WorkerID, now: UInt64) -> [Action] {
        guard workers[w] != nil else { return [] }
        workers[w]!.ready = true
        startFailures = 0
        if phase == .closing && queue.isEmpty {
            // Told to stop before it was ready (finishIfDone): once is enough.
            guard !workers[w]!.stopping else { return [] }
            workers[w]!.stopping = true
            return [.stopWorker(w)]
        }
        return dispatch(now: now)
    }

    /// A worker returned the reply of its first outstanding task. `dispatching` false: queued
    /// tasks are not handed out now; the caller calls ``dispatch(now:)`` once it has handled all
    /// the replies at hand (the pool's driver, after draining a reply ring: one `send` per worker
    /// per drain instead of one per reply).
    package mutating func finished(_ w: WorkerID, _ task: TaskID, now: UInt64, dispatching: Bool = true) -> [Action] {
        var actions: [Action] = []
        finished(w, task, now: now, dispatching: dispatching, into: &actions)
        return actions
    }

    /// ``finished(_:_:now:dispatching:)``, its actions appended to `actions` (the driver reuses
    /// one array for every reply instead of allocating one per task).
    package mutating func finished(_ w: WorkerID, _ task: TaskID, now: UInt64, dispatching: Bool = true,
                                   into actions: inout [Action]) {
        // One hash look-up, then in place through the index: every read and change of the
        // worker below is one mutating call (the values' `modify`), since a read through
        // `workers.values[i].x` copies the whole worker out first (its `outstanding` retained
        // and released): those reads were 2.3% of all samples in a chunksize-1 profile.
        let size = tasks[task]?.size ?? 0
        guard let i = workers.index(forKey: w), let took = workers.values[i].finishHead(task, size: size, now: now) else {
            preconditionFailure("worker \(w) replied for task \(task), which is not the task it runs")
        }
        averageTaskNs = averageTaskNs.map { ($0 * 7 + took) / 8 } ?? took
        tasks[task] = nil
        // A cancelled task's reply too: the worker's (a value, or `dropped`) says whether it ran.
        actions.append(.deliverReply(task))
        if config.killOnCancel { actions += killIfHeadCancelled(w) }
        if workers.values[i].stopIfIdle(limit: config.maxTasksPerChild, closingEmpty: phase == .closing && queue.isEmpty) {
            actions.append(.stopWorker(w))
        }
        if dispatching { actions += dispatch(now: now) }
    }

    /// A worker's connection ended: it is exiting, its status not known yet (the shell reaps it
    /// without waiting, then calls ``exited(_:status:startError:now:)``). It gets no more tasks.
    package mutating func connectionEnded(_ w: WorkerID) {
        workers[w]?.gone = true
    }

    /// A worker exited (or could not start: `startError`). `status` is how it ended, if known.
    /// `headTaken` false: the worker never took its first task (its task ring says so), so that
    /// task goes back to the queue with the others it held instead of failing.
    package mutating func exited(_ w: WorkerID, status: ExitStatus?, startError: String? = nil, headTaken: Bool = true,
                                 now: UInt64) -> [Action] {
        guard let worker = workers.removeValue(forKey: w) else { return [] }
        ids.removeAll { $0 == w }
        var actions: [Action] = []
        // The failure goes last: a replacement is started (forked) before the caller that waits
        // for the task is woken, not while that caller's thread starts running.
        var failure: Action?
        if let head = worker.outstanding.first {
            let untaken = !headTaken && worker.killedFor == nil
            if !untaken {
                tasks[head] = nil
                failure = .deliverFailure(head, worker.killedFor != head ? .workerDied(w, status) : worker.killedToCancel ? .cancelled : .timedOut(w))
            }
            for t in worker.outstanding.dropFirst(untaken ? 0 : 1).reversed() where tasks[t] != nil {
                if tasks[t]!.cancelled {
                    tasks[t] = nil
                    actions.append(.deliverFailure(t, .cancelled))
                    continue
                }
                tasks[t]!.attempt += 1
                tasks[t]!.worker = nil
                queue.prepend(t)
            }
        }
        let reason: ReplaceReason
        if !worker.ready {
            reason = .startFailed
            // SIGKILL comes from outside (a kill, the OOM killer), not from the worker's program:
            // only other deaths before `ready` count towards breaking the pool.
            if status != .signaled(9) { startFailures += 1 }
            if let startError { lastStartError = startError }
        } else if worker.killedFor != nil {
            reason = worker.killedToCancel ? .cancelled : .timedOut
        } else if worker.stopping && worker.outstanding.isEmpty && status == .exited(0) {
            reason = .maxTasksPerChild
        } else {
            reason = .died
        }
        switch phase {
        case .running, .closing:
            if reason == .startFailed && startFailures >= config.maxStartFailures {
                actions += breakPool()
            } else if phase == .running || !queue.isEmpty || workers.isEmpty && !tasks.isEmpty {
                let n = newWorker()
                actions += [.startWorker(n), .replaced(old: w, new: n, reason)]
            }
        case .created, .terminating, .broken, .finished: break
        }
        if let failure { actions.append(failure) }
        actions += dispatch(now: now)
        actions += finishIfDone()
        return actions
    }

    /// Time passed: kills the workers whose first task ran past its timeout.
    package mutating func tick(now: UInt64) -> [Action] {
        guard timeouts else { return [] }
        var actions: [Action] = []
        for (w, worker) in workers.sorted(by: { $0.key < $1.key }) where worker.killedFor == nil && !worker.gone {
            guard let head = worker.outstanding.first, let timeout = tasks[head]?.timeout else { continue }
            if now >= worker.headSince &+ timeout {
                workers[w]!.killedFor = head
                actions.append(.killWorker(w))
            }
        }
        return actions
    }

    /// The earliest time at which ``tick(now:)`` has something to do, if any.
    package var nextDeadline: UInt64? {
        guard timeouts else { return nil }
        var best: UInt64?
        for worker in workers.values where worker.killedFor == nil && !worker.gone {
            guard let head = worker.outstanding.first, let timeout = tasks[head]?.timeout else { continue }
            best = min(best ?? .max, worker.headSince &+ timeout)
        }
        return best
    }

    /// The caller no longer wants these tasks: the queued ones fail as cancelled; the ones a
    /// worker holds are dropped by it if it has not begun them (``Action/dropHeld(_:_:)``; its
    /// reply says `dropped` and the task fails as cancelled), else run to their end (their reply
    /// is delivered, unheard), or with ``Config/killOnCancel`` kill their worker once it runs
    /// them (they fail as cancelled).
    package mutating func cancel(_ ids: [TaskID]) -> [Action] {
        var actions: [Action] = []
        for id in ids {
            guard let t = tasks[id] else { continue }
            if let w = t.worker {
                guard !t.cancelled else { continue }
                tasks[id]!.cancelled = true
                actions += config.killOnCancel ? killIfHeadCancelled(w) : [.dropHeld(w, id)]
                continue
            }
            tasks[id] = nil
            queue.remove(id)
            actions.append(.deliverFailure(id, .cancelled))
        }
        return actions + finishIfDone()
    }

    /// No more tasks will be submitted; workers stop once every task has been delivered.
    package mutating func close() -> [Action] {
        guard phase == .running || phase == .created else { return finishIfDone() }
        phase = phase == .created ? .finished : .closing
        var actions: [Action] = []
        if queue.isEmpty {
            for (w, worker) in workers.sorted(by: { $0.key < $1.key }) where worker.outstanding.isEmpty && !worker.stopping && worker.ready {
                workers[w]!.stopping = true
                actions.append(.stopWorker(w))
            }
        }
        return actions + finishIfDone()
    }

    /// Fails every task not yet delivered and kills every worker.
    package mutating func terminate() -> [Action] {
        guard phase != .finished && phase != .terminating else { return [] }
        phase = .terminating
        var actions: [Action] = []
        for id in queue.drain() where tasks[id] != nil { actions.append(.deliverFailure(id, .terminated)) }
        for (w, worker) in workers.sorted(by: { $0.key < $1.key }) {
            for id in worker.outstanding { actions.append(.deliverFailure(id, .terminated)) }
            workers[w]!.outstanding = []
            actions.append(.killWorker(w))
        }
        tasks = TaskTable()
        return actions + finishIfDone()
    }

    mutating func breakPool() -> [Action] {
        phase = .broken
        isBroken = true
        var actions: [Action] = []
        for id in queue.drain() where tasks[id] != nil {
            tasks[id] = nil
            actions.append(.deliverFailure(id, .noWorkers(lastStartError)))
        }
        for (w, worker) in workers.sorted(by: { $0.key < $1.key }) where !worker.stopping {
            workers[w]!.stopping = true
            actions.append(worker.ready ? .stopWorker(w) : .killWorker(w))
        }
        return actions
    }

    mutating func finishIfDone() -> [Action] {
        guard phase == .closing || phase == .terminating || phase == .broken else { return [] }
        if phase == .closing, !tasks.isEmpty { return [] }
        if phase == .broken, !tasks.isEmpty { return [] }
        guard workers.isEmpty else {
            if phase == .closing || phase == .broken {
                var actions: [Action] = []
                for (w, worker) in workers.sorted(by: { $0.key < $1.key }) where !worker.stopping && !worker.gone && worker.outstanding.isEmpty {
                    workers[w]!.stopping = true
                    actions.append(.stopWorker(w))
                }
                return actions
            }
            return []
        }
        phase = .finished
        return [.finished]
    }
}
