extension Scheduler {
    /// Hands queued tasks to ready workers, the least loaded first, one `send` per worker.
    ///
    /// Each worker is looked at once per call (its load kept in a local table while tasks are
    /// handed out) and each task once: the profile of tiny tasks at chunksize 1 had this
    /// function, called after every reply, looking up and copying each worker per queued task.
    package mutating func dispatch(now: UInt64) -> [Action] {
        guard phase == .running || phase == .closing, !queue.isEmpty else { return [] }
        let window = currentWindow
        // The workers that may take tasks now: (id, held, bytes in flight, assigned).
        var open: [(id: WorkerID, held: Int, bytes: Int, assigned: Int)] = []
        for w in ids {
            guard let worker = workers[w], worker.ready, !worker.stopping, !worker.gone, worker.killedFor == nil,
                  worker.outstanding.count < window else { continue }
            if let max = config.maxTasksPerChild, worker.assigned >= max { continue }
            open.append((w, worker.outstanding.count, worker.bytesInFlight, worker.assigned))
        }
        guard !open.isEmpty else { return [] }
        var batches: [[TaskID]] = Array(repeating: [], count: open.count)
        var attempts: [[Int]] = Array(repeating: [], count: open.count)
        var order: [Int] = []  // the workers in the order they were first given a task
        while let next = queue.first {
            guard let task = tasks[next] else {
                _ = queue.popFirst()
                continue
            }
            var best = -1
            for (k, o) in open.enumerated() {
                guard o.held < window else { continue }
                if let max = config.maxTasksPerChild, o.assigned >= max { continue }
                if o.held > 0 && o.bytes + task.size > config.windowBytes { continue }
                if best < 0 || o.held < open[best].held { best = k }
            }
            guard best >= 0 else { break }
            _ = queue.popFirst()
            let w = open[best].id
            if open[best].held == 0 { workers[w]!.headSince = now }
            open[best].held += 1
            open[best].bytes += task.size
            open[best].assigned += 1
            tasks[next]!.worker = w
            if batches[best].isEmpty { order.append(best) }
            batches[best].append(next)
            attempts[best].append(task.attempt)
        }
        var actions: [Action] = []
        for k in order {
            let o = open[k]
            workers[o.id]!.outstanding.append(contentsOf: batches[k])
            workers[o.id]!.bytesInFlight = o.bytes
            workers[o.id]!.assigned = o.assigned
            actions.append(.send(o.id, batches[k], attempts: attempts[k]))
        }
        return actions
    }

    /// How many tasks a worker may hold now: `queuedWorkNs` worth by the average duration.
    package var currentWindow: Int {
        guard let avg = averageTaskNs else { return config.initialWindow }
        return Int(max(1, min(UInt64(config.window), config.queuedWorkNs / max(avg, 1))))
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
