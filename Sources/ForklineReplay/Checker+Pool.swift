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
        // One table slot per task, found by dense pool and task indexes (``PoolTaskTable``:
        // no hashing per event); events are kept by position (no copies of their arguments),
        // and the lists of the rare tasks that were dispatched, begun or delivered more than once
        // are gathered in a second pass. Argument tables are read once into locals: a global's
        // accessor per event is not free.
        let poolAt = Arg.pool, taskAt = Arg.task
        var submitted = 0
        for p in processes { for i in p.events.indices where p.events[i].kind == .poolSubmit { submitted += 1 } }
        var tasks = PoolTaskTable(expected: submitted)
        var submitOrder: [Int] = []  // slots, in the order of their first submit
        submitOrder.reserveCapacity(submitted)
        var maxTasks: [UInt64: UInt64] = [:]
        var replaced: [UInt64: [UInt64: TraceEvent]] = [:]  // pool -> old worker puid -> event
        // (pool, worker puid) -> tasks begun: counted per pool index while the recording
        // process stays the same, added to the dictionary when it changes.
        var begun: [TaskKey: Int] = [:]
        var owners: [UInt64: Int] = [:]
        var hasPools = false
        var repeated = false
        for pi in processes.indices {
            let events = processes[pi].events
            var here: [Int] = []
            var herePuid = events.first?.puid ?? 0
            for i in events.indices {
                // Positional: most events are not pool events, and a name lookup per event is slow.
                guard let pool = events[i].uintArg(poolAt) else { continue }
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
                let p = tasks.pool(pool)
                let slot = tasks.slot(pool: p, task: events[i].uintArg(taskAt) ?? 0)
                switch kind {
                case .poolSubmit:
                    if tasks[slot].submit == nil { submitOrder.append(slot) }
                    tasks[slot].submit = ref
                case .poolDispatch: tasks[slot].dispatches.add(ref)
                case .taskBegin:
                    tasks[slot].begins.add(ref)
                    if events[i].puid != herePuid {
                        Self.fold(&here, herePuid, tasks.pools, into: &begun)
                        herePuid = events[i].puid
                    }
                    if p >= here.count { here.append(contentsOf: repeatElement(0, count: p + 1 - here.count)) }
                    here[p] += 1
                case .taskEnd: tasks[slot].end = ref
                default: tasks[slot].results.add(ref)
                }
                if tasks[slot].dispatches.count > 1 || tasks[slot].begins.count > 1 || tasks[slot].results.count > 1 { repeated = true }
            }
            Self.fold(&here, herePuid, tasks.pools, into: &begun)
        }
        guard hasPools else { return }
        func event(_ r: EventRef) -> TraceEvent { processes[r.process].events[r.index] }

        // The full lists of the tasks seen more than once.
        var lists: [Int: (dispatches: [TraceEvent], begins: [TraceEvent], results: [TraceEvent])] = [:]
        if repeated {
            for slot in 0..<tasks.count where tasks[slot].dispatches.count > 1 || tasks[slot].begins.count > 1 || tasks[slot].results.count > 1 {
                lists[slot] = ([], [], [])
            }
            for pi in processes.indices {
                let events = processes[pi].events
                for i in events.indices where events[i].kind == .poolDispatch || events[i].kind == .taskBegin || events[i].kind == .poolResult {
                    let e = events[i]
                    guard let pool = e.uintArg(poolAt), let slot = tasks.find(pool: pool, task: e.uintArg(taskAt) ?? 0),
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
        var exited = [Bool?](repeating: nil, count: processes.count)
        func endedWithoutExit(_ pi: Int) -> Bool {
            if let known = exited[pi] { return !known }
            // By index, from the end: copying each event out would retain its arguments.
            let events = processes[pi].events
            var e = false
            for i in events.indices.reversed() where events[i].kind == .exit || events[i].kind == .crash {
                e = events[i].kind == .exit
                break
            }
            exited[pi] = e
            return !e
        }
        // Tasks come in runs of one pool: its owner and its count of lost tasks are kept out of
        // the dictionaries while the pool stays the same (one hash per run, not per task).
        var run: (pool: UInt64, owner: Int?, lost: Int)? = nil
        for slot in submitOrder {
            let t = tasks[slot]
            let key = t.key
            if run?.pool != key.pool {
                if let r = run, r.lost > 0 { lostByPool[r.pool, default: 0] += r.lost }
                run = (key.pool, owners[key.pool], 0)
            }
            if t.results.count == 0 {
                if let owner = run!.owner ?? t.submit.map({ index[event($0).puid] ?? $0.process }), endedWithoutExit(owner) {
                    run!.lost += 1
                } else {
                    v.append(Violation(.poolTaskLost, "pool \(hex16(key.pool)): task \(key.task) was submitted but never delivered a result or a failure", [event(t.submit!)]))
                }
            } else if t.results.count > 1 {
                let got = lists[slot]?.results ?? []
                v.append(Violation(.poolDuplicateResult, "pool \(hex16(key.pool)): task \(key.task) was delivered \(got.count) times", got))
            }
        }
        if let r = run, r.lost > 0 { lostByPool[r.pool, default: 0] += r.lost }
        for (pool, n) in lostByPool.sorted(by: { $0.key < $1.key }) {
            notes.append("pool \(hex16(pool)): \(n) task(s) undelivered when the pool's process ended without exiting")
        }

        let table = tasks  // a constant for the sort's closure
        let byKey = { (a: Int, b: Int) in (table[a].key.pool, table[a].key.task) < (table[b].key.pool, table[b].key.task) }
        for slot in lists.keys.filter({ tasks[$0].begins.count > 1 }).sorted(by: byKey) {
            let list = lists[slot]!.begins
            v.append(Violation(.poolTaskRerun, "pool \(hex16(tasks[slot].key.pool)): task \(tasks[slot].key.task) began \(list.count) times", list))
        }
        var ranNowhere: [Int] = []
        for slot in 0..<tasks.count where tasks[slot].end == nil && tasks[slot].results.count > 0 { ranNowhere.append(slot) }
        for slot in ranNowhere.sorted(by: byKey) {
            let key = tasks[slot].key
            let list = tasks[slot].results.count > 1 ? lists[slot]!.results : [event(tasks[slot].results.first!)]
            for r in list where (r.arg(Arg.outcome)?.uint ?? 0) <= 1 {
                v.append(Violation(.poolTaskRerun, "pool \(hex16(key.pool)): task \(key.task) was delivered as run, but no worker ran it to its end", [r]))
            }
        }

        // Dropped by its worker: `taskEnd` ok 2.
        var dropped: [Int] = []
        for slot in 0..<tasks.count {
            if let end = tasks[slot].end, event(end).arg(Arg.ok)?.uint == 2 { dropped.append(slot) }
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
        // Results of one call come in runs: the last call's entry is kept out of the dictionary.
        let callAt = Arg.call, indexAt = Arg.index, orderedAt = Arg.ordered
        for p in processes {
            let events = p.events
            var lastIndex: [TaskKey: (index: UInt64, event: Int)] = [:]  // by (pool, call)
            var current: (key: TaskKey, index: UInt64, event: Int)? = nil
            for i in events.indices where events[i].kind == .poolResult {
                guard let pool = events[i].uintArg(poolAt), let task = events[i].uintArg(taskAt), let call = events[i].uintArg(callAt),
                      let index = events[i].uintArg(indexAt), let slot = tasks.find(pool: pool, task: task),
                      let submit = tasks[slot].submit,
                      processes[submit.process].events[submit.index].uintArg(orderedAt) == 1 else { continue }
                let callKey = TaskKey(pool: pool, task: call)
                let previous: (index: UInt64, event: Int)?
                if let c = current, c.key == callKey {
                    previous = (c.index, c.event)
                } else {
                    if let c = current { lastIndex[c.key] = (c.index, c.event) }
                    previous = lastIndex[callKey]
                }
                if let previous, previous.index >= index {
                    v.append(Violation(.poolResultOrder, "pool \(hex16(pool)): call \(call) is ordered but delivered input \(index) after input \(previous.index)", [events[previous.event], events[i]]))
                }
                current = (callKey, index, i)
            }
        }

        for (key, n) in begun.sorted(by: { ($0.key.pool, $0.key.task) < ($1.key.pool, $1.key.task) }) {
            guard let max = maxTasks[key.pool], max > 0, UInt64(n) > max else { continue }
            let worker = key.task
            // The first begin past the limit, found again (rare): this worker's begins in order.
            var over: TraceEvent? = nil
            var seen: UInt64 = 0
            search: for p in processes {
                for i in p.events.indices where p.events[i].kind == .taskBegin && p.events[i].puid == worker && p.events[i].uintArg(poolAt) == key.pool {
                    if seen == max { over = p.events[i]; break search }
                    seen += 1
                }
            }
            let pid = process(worker)?.header.pid ?? 0
            v.append(Violation(.poolOverMaxTasks, "pool \(hex16(key.pool)): worker pid \(pid) ran \(n) tasks, over maxTasksPerChild \(max)", over.map { [$0] } ?? [], pids: [pid]))
        }
    }
}

extension Trace {
    /// Adds one process's count of tasks begun per pool index to the (pool, worker) totals.
    fileprivate static func fold(_ here: inout [Int], _ puid: UInt64, _ pools: [UInt64], into begun: inout [TaskKey: Int]) {
        for (p, n) in here.enumerated() where n > 0 { begun[TaskKey(pool: pools[p], task: puid), default: 0] += n }
        here.removeAll(keepingCapacity: true)
    }
}

/// An event by its position: process index, event index. Kept in 32 bits each, so that the
/// table of a 400k-task pool is half the memory (page faults showed in the profile): no process
/// holds 2^31 events (that would be over 100 GB of them).
struct EventRef {
    private var p: Int32
    private var i: Int32

    init(process: Int, index: Int) {
        p = Int32(truncatingIfNeeded: process)
        i = Int32(truncatingIfNeeded: index)
    }

    var process: Int { Int(p) }
    var index: Int { Int(i) }
}

/// What the pool rules gather about one task.
struct PoolTask {
    /// The first and how many: the full list only matters for a task seen more than once.
    struct Seen {
        var first: EventRef?
        var count: Int32 = 0
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
