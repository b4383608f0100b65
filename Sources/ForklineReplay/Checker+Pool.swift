import ForklineTraceFormat

extension Trace {
    /// Invariant 6 (pools), for every pool in the trace (`poolCreate` ... `poolResult`):
    ///
    /// - every submitted task is delivered exactly once (a result or a reported failure);
    ///   a task left undelivered by a pool owner that did not exit normally is a note, not a
    ///   violation (the owner died with it);
    /// - a task begins in a worker at most once, and a result that says it ran (a value or a
    ///   thrown error) follows a `taskEnd` of that task;
    /// - a task its worker dropped (`taskEnd` with `ok` 2: its caller was cancelled under
    ///   `.abandon` before the worker began it) never began, and is not delivered as run;
    /// - a task dispatched again is a retry (`attempt` > 0) after the worker it was sent to left
    ///   the pool (`workerReplaced` naming it), and it had not begun there;
    /// - the results of an ordered call (`map`, `imap`) are delivered in input order;
    /// - no worker begins more tasks of a pool than its `maxTasksPerChild`.
    func checkPools(_ v: inout [Violation], _ notes: inout [String]) {
        // One table slot per task, found with one hash per pool event; events are kept by
        // position (no copies of their arguments), and the lists of the rare tasks that were
        // dispatched, begun or delivered more than once are gathered in a second pass.
        var slots: [TaskKey: Int] = [:]
        var tasks: [PoolTask] = []
        var submitOrder: [Int] = []  // slots, in the order of their first submit
        var maxTasks: [UInt64: UInt64] = [:]
        var replaced: [UInt64: [UInt64: TraceEvent]] = [:]  // pool -> old worker puid -> event
        var perWorker: [UInt64: [UInt64: [EventRef]]] = [:]  // pool -> worker puid -> begins
        var owners: [UInt64: Int] = [:]
        var submitted = 0
        for p in processes { for i in p.events.indices where p.events[i].kind == .poolSubmit { submitted += 1 } }
        slots.reserveCapacity(submitted)
        tasks.reserveCapacity(submitted)
        var hasPools = false
        var repeated = false
        for pi in processes.indices {
            let events = processes[pi].events
            for i in events.indices {
                // Positional: most events are not pool events, and a name lookup per event is slow.
                guard let pool = events[i].arg(Arg.pool)?.uint else { continue }
                hasPools = true
                let kind = events[i].kind
                let ref = EventRef(process: pi, index: i)
                switch kind {
                case .poolCreate:
                    maxTasks[pool] = events[i]["maxTasksPerChild"]?.uint ?? 0
                    owners[pool] = pi
                    continue
                case .workerReplaced:
                    if let old = events[i]["old"]?.uint { replaced[pool, default: [:]][old] = events[i] }
                    continue
                case .poolSubmit, .poolDispatch, .taskBegin, .taskEnd, .poolResult: break
                default: continue
                }
                let key = TaskKey(pool: pool, task: events[i].arg(Arg.task)?.uint ?? 0)
                let slot: Int
                if let s = slots[key] { slot = s } else {
                    slot = tasks.count
                    slots[key] = slot
                    tasks.append(PoolTask(key: key))
                }
                switch kind {
                case .poolSubmit:
                    if tasks[slot].submit == nil { submitOrder.append(slot) }
                    tasks[slot].submit = ref
                case .poolDispatch: tasks[slot].dispatches.add(ref)
                case .taskBegin:
                    tasks[slot].begins.add(ref)
                    perWorker[pool, default: [:]][events[i].puid, default: []].append(ref)
                case .taskEnd: tasks[slot].end = ref
                default: tasks[slot].results.add(ref)
                }
                if tasks[slot].dispatches.count > 1 || tasks[slot].begins.count > 1 || tasks[slot].results.count > 1 { repeated = true }
            }
        }
        guard hasPools else { return }
        func event(_ r: EventRef) -> TraceEvent { processes[r.process].events[r.index] }

        // The full lists of the tasks seen more than once.
        var lists: [Int: (dispatches: [TraceEvent], begins: [TraceEvent], results: [TraceEvent])] = [:]
        if repeated {
            for (slot, t) in tasks.enumerated() where t.dispatches.count > 1 || t.begins.count > 1 || t.results.count > 1 {
                lists[slot] = ([], [], [])
            }
            for pi in processes.indices {
                for e in processes[pi].events where e.kind == .poolDispatch || e.kind == .taskBegin || e.kind == .poolResult {
                    guard let pool = e.arg(Arg.pool)?.uint, let slot = slots[TaskKey(pool: pool, task: e.arg(Arg.task)?.uint ?? 0)],
                          lists[slot] != nil else { continue }
                    switch e.kind {
                    case .poolDispatch: lists[slot]!.dispatches.append(e)
                    case .taskBegin: lists[slot]!.begins.append(e)
                    default: lists[slot]!.results.append(e)
                    }
                }
            }
        }

        var lostByPool: [UInt64: Int] = [:]
        // Whether each owner exited, looked up once per process: `end` scans a killed process's
        // whole event list, and there may be one undelivered task per event.
        var exited: [Int: Bool] = [:]
        func endedWithoutExit(_ pi: Int) -> Bool {
            if let known = exited[pi] { return !known }
            let e = processes[pi].end?.kind == .exit
            exited[pi] = e
            return !e
        }
        for slot in submitOrder {
            let t = tasks[slot]
            let key = t.key
            if t.results.count == 0 {
                if let owner = owners[key.pool] ?? t.submit.map({ index[event($0).puid] ?? $0.process }), endedWithoutExit(owner) {
                    lostByPool[key.pool, default: 0] += 1
                } else {
                    v.append(Violation(.poolTaskLost, "pool \(hex16(key.pool)): task \(key.task) was submitted but never delivered a result or a failure", [event(t.submit!)]))
                }
            } else if t.results.count > 1 {
                let got = lists[slot]?.results ?? []
                v.append(Violation(.poolDuplicateResult, "pool \(hex16(key.pool)): task \(key.task) was delivered \(got.count) times", got))
            }
        }
        for (pool, n) in lostByPool.sorted(by: { $0.key < $1.key }) {
            notes.append("pool \(hex16(pool)): \(n) task(s) undelivered when the pool's process ended without exiting")
        }

        let byKey = { (a: Int, b: Int) in (tasks[a].key.pool, tasks[a].key.task) < (tasks[b].key.pool, tasks[b].key.task) }
        for slot in lists.keys.filter({ tasks[$0].begins.count > 1 }).sorted(by: byKey) {
            let list = lists[slot]!.begins
            v.append(Violation(.poolTaskRerun, "pool \(hex16(tasks[slot].key.pool)): task \(tasks[slot].key.task) began \(list.count) times", list))
        }
        var ranNowhere: [Int] = []
        for (slot, t) in tasks.enumerated() where t.end == nil && t.results.count > 0 { ranNowhere.append(slot) }
        for slot in ranNowhere.sorted(by: byKey) {
            let key = tasks[slot].key
            let list = tasks[slot].results.count > 1 ? lists[slot]!.results : [event(tasks[slot].results.first!)]
            for r in list where (r.arg(Arg.outcome)?.uint ?? 0) <= 1 {
                v.append(Violation(.poolTaskRerun, "pool \(hex16(key.pool)): task \(key.task) was delivered as run, but no worker ran it to its end", [r]))
            }
        }

        // Dropped by its worker: `taskEnd` ok 2.
        var dropped: [Int] = []
        for (slot, t) in tasks.enumerated() {
            if let end = t.end, event(end).arg(Arg.ok)?.uint == 2 { dropped.append(slot) }
        }
        for slot in dropped.sorted(by: byKey) {
            let key = tasks[slot].key
            if let begin = tasks[slot].begins.first {
                v.append(Violation(.poolTaskRerun, "pool \(hex16(key.pool)): task \(key.task) was dropped by its worker but began", [event(begin), event(tasks[slot].end!)]))
            }
            let list = tasks[slot].results.count > 1 ? lists[slot]!.results : tasks[slot].results.first.map { [event($0)] } ?? []
            for r in list where (r.arg(Arg.outcome)?.uint ?? 0) <= 1 {
                v.append(Violation(.poolTaskRerun, "pool \(hex16(key.pool)): task \(key.task) was delivered as run, but its worker dropped it", [r]))
            }
        }

        for slot in lists.keys.filter({ tasks[$0].dispatches.count > 1 }).sorted(by: byKey) {
            let key = tasks[slot].key
            let list = lists[slot]!.dispatches
            let begins = tasks[slot].begins.count > 1 ? lists[slot]!.begins : tasks[slot].begins.first.map { [event($0)] } ?? []
            for (earlier, later) in zip(list, list.dropFirst()) {
                let worker = earlier["worker"]?.uint ?? 0
                let attempt = later["attempt"]?.uint ?? 0
                let left = replaced[key.pool]?[worker]
                let begunThere = begins.contains { $0.puid == worker }
                if attempt == 0 || left == nil || begunThere || (left.map { $0.puid == later.puid && $0.seq > later.seq } ?? false) {
                    var events = [earlier, later]
                    if let left { events.append(left) }
                    v.append(Violation(.poolUnannouncedRetry, "pool \(hex16(key.pool)): task \(key.task) was dispatched again (attempt \(attempt)) without being a retry after its worker \(hex16(worker)) left the pool before beginning it", events))
                }
            }
        }

        // Ordered calls: each pool owner's results per call, in its own event order.
        for p in processes {
            var lastIndex: [TaskKey: (index: UInt64, event: Int)] = [:]  // by (pool, call)
            for (i, e) in p.events.enumerated() where e.kind == .poolResult {
                guard let pool = e.arg(Arg.pool)?.uint, let task = e.arg(Arg.task)?.uint, let call = e.arg(Arg.call)?.uint,
                      let index = e.arg(Arg.index)?.uint, let slot = slots[TaskKey(pool: pool, task: task)],
                      let submit = tasks[slot].submit, event(submit).arg(Arg.ordered)?.uint == 1 else { continue }
                let callKey = TaskKey(pool: pool, task: call)
                if let previous = lastIndex[callKey], previous.index >= index {
                    v.append(Violation(.poolResultOrder, "pool \(hex16(pool)): call \(call) is ordered but delivered input \(index) after input \(previous.index)", [p.events[previous.event], e]))
                }
                lastIndex[callKey] = (index, i)
            }
        }

        for (pool, workers) in perWorker.sorted(by: { $0.key < $1.key }) {
            guard let max = maxTasks[pool], max > 0 else { continue }
            for (worker, list) in workers.sorted(by: { $0.key < $1.key }) where UInt64(list.count) > max {
                let pid = process(worker)?.header.pid ?? 0
                v.append(Violation(.poolOverMaxTasks, "pool \(hex16(pool)): worker pid \(pid) ran \(list.count) tasks, over maxTasksPerChild \(max)", [event(list[Int(max)])], pids: [pid]))
            }
        }
    }
}

/// An event by its position: process index, event index.
struct EventRef {
    var process: Int
    var index: Int
}

/// What the pool rules gather about one task.
struct PoolTask {
    /// The first and how many: the full list only matters for a task seen more than once.
    struct Seen {
        var first: EventRef?
        var count = 0
        mutating func add(_ r: EventRef) {
            if first == nil { first = r }
            count += 1
        }
    }

    var key: TaskKey
    var submit: EventRef?
    var dispatches = Seen()
    var begins = Seen()
    var end: EventRef?
    var results = Seen()
}
