import ForklineTraceFormat

/// The pool rules' table of tasks, found by (pool, task id) without hashing per event.
///
/// A trace holds few pools, and each pool numbers its tasks from 0 (`Admission.nextID`): a pool
/// id is mapped to a small dense index (one hash the first time, a cache of the last one after),
/// and per pool an array indexed by task id holds the task's slot. A task id past the array's
/// bound (a damaged record, or a pool that does not number from 0) goes to a dictionary, so any
/// id still works, only slower. The profile of the SIGKILLed pool benchmark showed a dictionary
/// keyed by (pool, task) as the checker's largest cost: one hash per pool event.
struct PoolTaskTable {
    /// Every task seen, by slot, in first-seen order.
    private(set) var tasks: [PoolTask] = []
    /// The distinct pool ids, in first-seen order (their dense index).
    private(set) var pools: [UInt64] = []

    private var poolIndex: [UInt64: Int] = [:]
    private var lastPool: UInt64 = 0
    private var lastPoolIndex = -1
    /// Per pool index, by task id: slot + 1, 0 for none.
    private var dense: [[Int32]] = []
    private var sparse: [TaskKey: Int] = [:]
    /// Task ids below this go to `dense`.
    private let denseLimit: Int

    /// A table sized for about `expected` tasks.
    init(expected: Int) {
        denseLimit = max(1 << 16, 2 * expected)
        tasks.reserveCapacity(expected)
    }

    subscript(slot: Int) -> PoolTask {
        get { tasks[slot] }
        _modify { yield &tasks[slot] }
    }

    var count: Int { tasks.count }

    /// The dense index of pool `id`, added if new.
    mutating func pool(_ id: UInt64) -> Int {
        if id == lastPool, lastPoolIndex >= 0 { return lastPoolIndex }
        let p: Int
        if let known = poolIndex[id] {
            p = known
        } else {
            p = pools.count
            poolIndex[id] = p
            pools.append(id)
            dense.append([])
        }
        (lastPool, lastPoolIndex) = (id, p)
        return p
    }

    /// The slot of `task` of the pool with dense index `p`, added if new.
    mutating func slot(pool p: Int, task: UInt64) -> Int {
        if task < UInt64(denseLimit), tasks.count < Int(Int32.max) {
            let t = Int(task)
            if t < dense[p].count {
                let s = dense[p][t]
                if s > 0 { return Int(s) - 1 }
            } else {
                let grown = min(denseLimit, max(t + 1, 2 * dense[p].count, 1024))
                dense[p].append(contentsOf: repeatElement(0, count: grown - dense[p].count))
            }
            let s = tasks.count
            dense[p][t] = Int32(s + 1)
            tasks.append(PoolTask(key: TaskKey(pool: pools[p], task: task)))
            return s
        }
        let key = TaskKey(pool: pools[p], task: task)
        if let s = sparse[key] { return s }
        let s = tasks.count
        sparse[key] = s
        tasks.append(PoolTask(key: key))
        return s
    }

    /// The slot of `task` of pool `id`, if the table has it.
    mutating func find(pool id: UInt64, task: UInt64) -> Int? {
        let p: Int
        if id == lastPool, lastPoolIndex >= 0 { p = lastPoolIndex } else {
            guard let known = poolIndex[id] else { return nil }
            (lastPool, lastPoolIndex, p) = (id, known, known)
        }
        if task < UInt64(dense[p].count) {
            let s = dense[p][Int(task)]
            if s > 0 { return Int(s) - 1 }
        }
        return sparse.isEmpty ? nil : sparse[TaskKey(pool: id, task: task)]
    }
}

extension TraceEvent {
    /// The unsigned value of the argument at the position `table` gives for this event's kind,
    /// read in place (``arg(_:)`` copies the whole value out).
    @inline(__always)
    func uintArg(_ table: [Int]) -> UInt64? {
        guard let i = argIndex(table) else { return nil }
        switch args[i] {
        case .uint(let v): return v
        case .int(let v): return UInt64(exactly: v)
        default: return nil
        }
    }
}
