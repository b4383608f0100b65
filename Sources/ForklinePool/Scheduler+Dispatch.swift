extension Scheduler {
    /// Hands queued tasks to ready workers, the least loaded first, one `send` per worker.
    mutating func dispatch(now: UInt64) -> [Action] {
        guard phase == .running || phase == .closing, !queue.isEmpty else { return [] }
        var batches: [WorkerID: [TaskID]] = [:]
        var order: [WorkerID] = []
        let window = currentWindow
        while let next = queue.first {
            guard tasks[next] != nil else {
                _ = queue.popFirst()
                continue
            }
            let size = tasks[next]!.size
            var best: WorkerID?
            for w in ids {
                let worker = workers[w]!
                guard worker.ready, !worker.stopping, !worker.gone, worker.killedFor == nil, worker.outstanding.count < window else { continue }
                if let max = config.maxTasksPerChild, worker.assigned >= max { continue }
                if !worker.outstanding.isEmpty && worker.bytesInFlight + size > config.windowBytes { continue }
                if best == nil || worker.outstanding.count < workers[best!]!.outstanding.count { best = w }
            }
            guard let w = best else { break }
            _ = queue.popFirst()
            if workers[w]!.outstanding.isEmpty { workers[w]!.headSince = now }
            workers[w]!.outstanding.append(next)
            workers[w]!.bytesInFlight += size
            workers[w]!.assigned += 1
            tasks[next]!.worker = w
            if batches[w] == nil { order.append(w) }
            batches[w, default: []].append(next)
        }
        return order.map { w in .send(w, batches[w]!, attempts: batches[w]!.map { tasks[$0]!.attempt }) }
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
