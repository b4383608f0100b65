extension Scheduler {
    /// Hands queued tasks to ready workers, the least loaded first, one `send` per worker.
    ///
    /// Each worker is looked at once per call (its load kept in a local table while tasks are
    /// handed out) and each task once: the profile of tiny tasks at chunksize 1 had this
    /// function, called after every reply, looking up and copying each worker per queued task.
    /// The table of open workers and the list of picks are flat arrays kept between calls
    /// (``DispatchScratch``): a later profile had each call paying a runtime metadata look-up
    /// and an allocation for its `[[TaskID]]` batches; only each `send`'s own arrays are new.
    package mutating func dispatch(now: UInt64) -> [Action] {
        guard phase == .running || phase == .closing, !queue.isEmpty else { return [] }
        let window = currentWindow
        var open = scratch.open
        var picks = scratch.picks
        scratch = DispatchScratch()  // its arrays uniquely referenced here while in use
        defer {
            open.removeAll(keepingCapacity: true)
            picks.removeAll(keepingCapacity: true)
            scratch = DispatchScratch(open: open, picks: picks)
        }
        for w in ids {
            guard let worker = workers[w], worker.ready, !worker.stopping, !worker.gone, worker.killedFor == nil,
                  worker.outstanding.count < window else { continue }
            if let max = config.maxTasksPerChild, worker.assigned >= max { continue }
            open.append(OpenWorker(id: w, held: worker.outstanding.count, bytes: worker.bytesInFlight,
                                   assigned: worker.assigned, given: 0))
        }
        guard !open.isEmpty else { return [] }
        var senders = 0  // how many workers were given a task
        while let next = queue.first {
            guard let task = tasks[next] else {
                _ = queue.popFirst()
                continue
            }
            var best = -1
            for k in open.indices {
                let o = open[k]
                guard o.held < window else { continue }
                if let max = config.maxTasksPerChild, o.assigned >= max { continue }
                if o.held > 0 && o.bytes + task.size > config.windowBytes { continue }
                if best < 0 || o.held < open[best].held { best = k }
            }
            guard best >= 0 else { break }
            _ = queue.popFirst()
            let w = open[best].id
            if open[best].held == 0 { workers[w]!.headSince = now }
            if open[best].given == 0 {
                senders += 1
                open[best].order = senders
            }
            open[best].held += 1
            open[best].bytes += task.size
            open[best].assigned += 1
            open[best].given += 1
            tasks[next]!.worker = w
            picks.append(Pick(worker: best, task: next, attempt: task.attempt))
        }
        guard senders > 0 else { return [] }
        // One send per worker given tasks, in the order each was first given one, its tasks in
        // the order they were handed out: each worker's start in the picks once grouped
        // (counting sort by `order`), then the picks placed there, with no array per worker.
        // One worker (the commonest case after a reply): the picks are its batch as they are.
        var start = senders == 1 ? [0, picks.count] : Array(repeating: 0, count: senders + 1)
        var grouped = picks
        if senders > 1 {
            for o in open where o.given > 0 { start[o.order] = o.given }
            for r in 1...senders { start[r] += start[r - 1] }  // start[r - 1]: where rank r begins
            var fill = start
            for p in picks {
                let r = open[p.worker].order
                grouped[fill[r - 1]] = p
                fill[r - 1] += 1
            }
        }
        var actions: [Action] = []
        actions.reserveCapacity(senders)
        for r in 1...senders {
            let slice = grouped[start[r - 1]..<start[r]]
            let o = open[slice.first!.worker]
            let batch = slice.map(\.task)
            workers[o.id]!.outstanding.append(contentsOf: batch)
            workers[o.id]!.bytesInFlight = o.bytes
            workers[o.id]!.assigned = o.assigned
            actions.append(.send(o.id, batch, attempts: slice.map(\.attempt)))
        }
        return actions
    }

    /// How many tasks a worker may hold now: `queuedWorkNs` worth by the average duration,
    /// rounded up, so a task shorter than `queuedWorkNs` always has the next one waiting behind
    /// it in the worker's ring (the worker takes it without waiting for the driver's turnaround:
    /// its reply read, the next task written, the worker woken), and one of `queuedWorkNs` or
    /// longer goes alone to whichever worker is free. Rounded down, tasks of 200-400 us went one
    /// at a time, and the measured duration then included that turnaround (the task is its
    /// worker's first from its dispatch on), which kept it above 200 us.
    package var currentWindow: Int {
        guard let avg = averageTaskNs else { return config.initialWindow }
        let a = max(avg, 1)
        return Int(max(1, min(UInt64(config.window), (config.queuedWorkNs + a - 1) / a)))
    }
}

/// A FIFO of task ids that can also take a task back at its front (a re-dispatch after a crash)
/// and drop a cancelled one; amortised O(1) at both ends.
struct TaskQueue: Sendable {
    private var items: [Scheduler.TaskID] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { count == 0 }
    var first: Scheduler.TaskID? { head < items.count ? items[head] : nil }

    mutating func append(_ id: Scheduler.TaskID) { items.append(id) }

    mutating func prepend(_ id: Scheduler.TaskID) {
        if head > 0 {
            head -= 1
            items[head] = id
        } else {
            items.insert(id, at: 0)
        }
    }

    mutating func popFirst() -> Scheduler.TaskID? {
        guard head < items.count else { return nil }
        defer {
            head += 1
            if head > 1024 && head * 2 > items.count {
                items.removeFirst(head)
                head = 0
            }
        }
        return items[head]
    }

    mutating func remove(_ id: Scheduler.TaskID) {
        if let i = items[head...].firstIndex(of: id) { items.remove(at: i) }
    }

    mutating func drain() -> [Scheduler.TaskID] {
        defer {
            items = []
            head = 0
        }
        return Array(items[head...])
    }
}

/// A worker that may take tasks in one ``Scheduler/dispatch(now:)``: its load as tasks are
/// handed out, and when it was first given one (`order`, 1 for the first).
struct OpenWorker: Sendable {
    var id: Scheduler.WorkerID
    var held: Int
    var bytes: Int
    var assigned: Int
    var given: Int
    var order = 0
}

/// One task handed out by a dispatch: to `open[worker]`.
struct Pick: Sendable {
    var worker: Int
    var task: Scheduler.TaskID
    var attempt: Int
}

/// ``Scheduler/dispatch(now:)``'s working arrays, kept between calls so that a call allocates
/// only its sends' own arrays (emptied after each call, their capacity kept).
struct DispatchScratch: Sendable {
    var open: [OpenWorker] = []
    var picks: [Pick] = []
}
