import ForklineTrace

extension Trace {
    /// Invariant 6 (pools), for every pool in the trace (`poolCreate` ... `poolResult`):
    ///
    /// - every submitted task is delivered exactly once (a result or a reported failure);
    ///   a task left undelivered by a pool owner that did not exit normally is a note, not a
    ///   violation (the owner died with it);
    /// - a task begins in a worker at most once, and a result that says it ran (a value or a
    ///   thrown error) follows a `taskEnd` of that task;
    /// - a task dispatched again is a retry (`attempt` > 0) after the worker it was sent to left
    ///   the pool (`workerReplaced` naming it), and it had not begun there;
    /// - the results of an ordered call (`map`, `imap`) are delivered in input order;
    /// - no worker begins more tasks of a pool than its `maxTasksPerChild`.
    func checkPools(_ v: inout [Violation], _ notes: inout [String]) {
        struct TaskKey: Hashable {
            var pool: UInt64
            var task: UInt64
        }
        var maxTasks: [UInt64: UInt64] = [:]
        var submits: [TaskKey: TraceEvent] = [:]
        var submitOrder: [TaskKey] = []
        var dispatches: [TaskKey: [TraceEvent]] = [:]
        var begins: [TaskKey: [TraceEvent]] = [:]
        var ends: [TaskKey: TraceEvent] = [:]
        var results: [TaskKey: [TraceEvent]] = [:]
        var replaced: [UInt64: [UInt64: TraceEvent]] = [:]  // pool -> old worker puid -> event
        var perWorker: [UInt64: [UInt64: [TraceEvent]]] = [:]  // pool -> worker puid -> begins
        var owners: [UInt64: ProcessTrace] = [:]
        var hasPools = false
        for p in processes {
            for i in p.events.indices {
                // Positional: most events are not pool events, and a name lookup per event is slow.
                guard let pool = p.events[i].arg(Arg.pool)?.uint else { continue }
                let e = p.events[i]
                hasPools = true
                let key = TaskKey(pool: pool, task: e["task"]?.uint ?? 0)
                switch e.kind {
                case .poolCreate:
                    maxTasks[pool] = e["maxTasksPerChild"]?.uint ?? 0
                    owners[pool] = p
                case .poolSubmit:
                    if submits[key] == nil { submitOrder.append(key) }
                    submits[key] = e
                case .poolDispatch: dispatches[key, default: []].append(e)
                case .taskBegin:
                    begins[key, default: []].append(e)
                    perWorker[pool, default: [:]][e.puid, default: []].append(e)
                case .taskEnd: ends[key] = e
                case .poolResult: results[key, default: []].append(e)
                case .workerReplaced:
                    if let old = e["old"]?.uint { replaced[pool, default: [:]][old] = e }
                default: break
                }
            }
        }
        guard hasPools else { return }

        var lostByPool: [UInt64: Int] = [:]
        for key in submitOrder {
            let got = results[key] ?? []
            if got.isEmpty {
                if let owner = owners[key.pool] ?? submits[key].flatMap({ process($0.puid) }), owner.end?.kind != .exit {
                    lostByPool[key.pool, default: 0] += 1
                } else {
                    v.append(Violation(.poolTaskLost, "pool \(hex16(key.pool)): task \(key.task) was submitted but never delivered a result or a failure", [submits[key]!]))
                }
            } else if got.count > 1 {
                v.append(Violation(.poolDuplicateResult, "pool \(hex16(key.pool)): task \(key.task) was delivered \(got.count) times", got))
            }
        }
        for (pool, n) in lostByPool.sorted(by: { $0.key < $1.key }) {
            notes.append("pool \(hex16(pool)): \(n) task(s) undelivered when the pool's process ended without exiting")
        }

        for (key, list) in begins.sorted(by: { ($0.key.pool, $0.key.task) < ($1.key.pool, $1.key.task) }) where list.count > 1 {
            v.append(Violation(.poolTaskRerun, "pool \(hex16(key.pool)): task \(key.task) began \(list.count) times", list))
        }
        for (key, list) in results.sorted(by: { ($0.key.pool, $0.key.task) < ($1.key.pool, $1.key.task) }) {
            for r in list where (r["outcome"]?.uint ?? 0) <= 1 && ends[key] == nil {
                v.append(Violation(.poolTaskRerun, "pool \(hex16(key.pool)): task \(key.task) was delivered as run, but no worker ran it to its end", [r]))
            }
        }

        for (key, list) in dispatches.sorted(by: { ($0.key.pool, $0.key.task) < ($1.key.pool, $1.key.task) }) where list.count > 1 {
            for (earlier, later) in zip(list, list.dropFirst()) {
                let worker = earlier["worker"]?.uint ?? 0
                let attempt = later["attempt"]?.uint ?? 0
                let left = replaced[key.pool]?[worker]
                let begunThere = (begins[key] ?? []).contains { $0.puid == worker }
                if attempt == 0 || left == nil || begunThere || (left.map { $0.puid == later.puid && $0.seq > later.seq } ?? false) {
                    var events = [earlier, later]
                    if let left { events.append(left) }
                    v.append(Violation(.poolUnannouncedRetry, "pool \(hex16(key.pool)): task \(key.task) was dispatched again (attempt \(attempt)) without being a retry after its worker \(hex16(worker)) left the pool before beginning it", events))
                }
            }
        }

        // Ordered calls: each pool owner's results per call, in its own event order.
        for p in processes {
            var lastIndex: [[UInt64]: TraceEvent] = [:]
            for e in p.events where e.kind == .poolResult {
                guard let pool = e["pool"]?.uint, let task = e["task"]?.uint, let call = e["call"]?.uint,
                      let index = e["index"]?.uint, let submit = submits[TaskKey(pool: pool, task: task)],
                      submit["ordered"]?.uint == 1 else { continue }
                if let previous = lastIndex[[pool, call]], let before = previous["index"]?.uint, before >= index {
                    v.append(Violation(.poolResultOrder, "pool \(hex16(pool)): call \(call) is ordered but delivered input \(index) after input \(before)", [previous, e]))
                }
                lastIndex[[pool, call]] = e
            }
        }

        for (pool, workers) in perWorker.sorted(by: { $0.key < $1.key }) {
            guard let max = maxTasks[pool], max > 0 else { continue }
            for (worker, list) in workers.sorted(by: { $0.key < $1.key }) where UInt64(list.count) > max {
                let pid = process(worker)?.header.pid ?? 0
                v.append(Violation(.poolOverMaxTasks, "pool \(hex16(pool)): worker pid \(pid) ran \(list.count) tasks, over maxTasksPerChild \(max)", [list[Int(max)]], pids: [pid]))
            }
        }
    }
}
