import ForklineReplay
import ForklineTrace

/// Golden fixtures for invariant 6 (pools): a valid map with a crash and a retry, and one
/// fixture per pool rule.
extension GoldenFixtures {
    static let pool: UInt64 = 0x9001

    /// A root process with a pool of two fork workers; `build` adds the pool's events, then the
    /// workers exit (or were killed, when `killed` names them) and are joined, and the root exits.
    static func poolTrace(maxTasksPerChild: UInt64 = 0, killed: Set<Int> = [],
                          _ build: (inout FixtureBuilder, _ root: Int, _ workers: [Int]) -> Void) -> Trace {
        var b = FixtureBuilder()
        let root = b.process(pid: 1000, puid: 0x1000)
        b.start(root, parent: nil, method: .root, name: "main")
        b.event(root, .poolCreate, [.uint(pool), .uint(2), .uint(maxTasksPerChild), .uint(0)])
        var workers = (1...2).map { b.fork(root, pid: 1000 + Int32($0), puid: 0x1000 + UInt64($0), name: "PoolWorker-\($0)") }
        build(&b, root, workers)
        workers = b.processes.indices.filter { $0 != root }
        for w in workers where !killed.contains(w) { b.exit(w, 0) }
        for w in workers { b.join(root, w, killed.contains(w) ? .signaled(9) : .exited(0)) }
        b.exit(root, 0)
        return b.trace
    }

    static func submit(_ b: inout FixtureBuilder, _ root: Int, task: UInt64, call: UInt64 = 1, index: UInt64, ordered: Bool = true) {
        b.event(root, .poolSubmit, [.uint(pool), .uint(task), .uint(call), .uint(index), .uint(1), .uint(ordered ? 1 : 0)])
    }

    static func dispatch(_ b: inout FixtureBuilder, _ root: Int, task: UInt64, to w: Int, attempt: UInt64 = 0) {
        b.event(root, .poolDispatch, [.uint(pool), .uint(task), .uint(b.processes[w].header.puid), .uint(attempt)])
    }

    static func run(_ b: inout FixtureBuilder, _ w: Int, task: UInt64, end: Bool = true) {
        b.event(w, .taskBegin, [.uint(pool), .uint(task)])
        if end { b.event(w, .taskEnd, [.uint(pool), .uint(task), .uint(1)]) }
    }

    static func result(_ b: inout FixtureBuilder, _ root: Int, task: UInt64, call: UInt64 = 1, index: UInt64, outcome: UInt64 = 0) {
        b.event(root, .poolResult, [.uint(pool), .uint(task), .uint(call), .uint(index), .uint(outcome)])
    }

    /// Two tasks run and delivered in order on two workers.
    static func simpleMap(_ b: inout FixtureBuilder, _ root: Int, _ w: [Int]) {
        submit(&b, root, task: 1, index: 0)
        submit(&b, root, task: 2, index: 1)
        dispatch(&b, root, task: 1, to: w[0])
        dispatch(&b, root, task: 2, to: w[1])
        run(&b, w[0], task: 1)
        run(&b, w[1], task: 2)
    }

    static func poolFixtures() -> [(name: String, valid: Bool, trace: Trace, rules: [String])] {
        var out: [(name: String, valid: Bool, trace: Trace, rules: [String])] = []
        // Valid: task 2 runs on worker 2, which dies holding task 3 too (never begun); worker 3
        // replaces it and gets task 3 as a retry; results delivered in input order.
        out.append(("pool-map-crash-retry", true, poolTrace(killed: [2]) { b, root, w in
            for t in 1...3 { submit(&b, root, task: UInt64(t), index: UInt64(t - 1)) }
            dispatch(&b, root, task: 1, to: w[0])
            dispatch(&b, root, task: 2, to: w[1])
            dispatch(&b, root, task: 3, to: w[1])
            run(&b, w[0], task: 1)
            run(&b, w[1], task: 2, end: false)
            result(&b, root, task: 1, index: 0)
            result(&b, root, task: 2, index: 1, outcome: 2)
            let w3 = b.fork(root, pid: 1003, puid: 0x1003, name: "PoolWorker-3")
            b.event(root, .workerReplaced, [.uint(pool), .uint(0x1002), .uint(0x1003), .uint(1)])
            dispatch(&b, root, task: 3, to: w3, attempt: 1)
            run(&b, w3, task: 3)
            result(&b, root, task: 3, index: 2)
        }, []))
        out.append(("pool-task-lost", false, poolTrace { b, root, w in
            simpleMap(&b, root, w)
            result(&b, root, task: 1, index: 0)
        }, ["pool-task-lost"]))
        out.append(("pool-duplicate-result", false, poolTrace { b, root, w in
            simpleMap(&b, root, w)
            result(&b, root, task: 1, index: 0)
            result(&b, root, task: 2, index: 1)
            result(&b, root, task: 2, index: 1)
        }, ["pool-duplicate-result", "pool-result-order"]))
        out.append(("pool-task-rerun", false, poolTrace { b, root, w in
            simpleMap(&b, root, w)
            run(&b, w[0], task: 2)
            result(&b, root, task: 1, index: 0)
            result(&b, root, task: 2, index: 1)
        }, ["pool-task-rerun"]))
        out.append(("pool-unannounced-retry", false, poolTrace { b, root, w in
            submit(&b, root, task: 1, index: 0)
            dispatch(&b, root, task: 1, to: w[0])
            dispatch(&b, root, task: 1, to: w[1], attempt: 1)
            run(&b, w[1], task: 1)
            result(&b, root, task: 1, index: 0)
        }, ["pool-unannounced-retry"]))
        out.append(("pool-result-order", false, poolTrace { b, root, w in
            simpleMap(&b, root, w)
            result(&b, root, task: 2, index: 1)
            result(&b, root, task: 1, index: 0)
        }, ["pool-result-order"]))
        out.append(("pool-over-max-tasks", false, poolTrace(maxTasksPerChild: 1) { b, root, w in
            submit(&b, root, task: 1, index: 0)
            submit(&b, root, task: 2, index: 1)
            dispatch(&b, root, task: 1, to: w[0])
            dispatch(&b, root, task: 2, to: w[0])
            run(&b, w[0], task: 1)
            run(&b, w[0], task: 2)
            result(&b, root, task: 1, index: 0)
            result(&b, root, task: 2, index: 1)
        }, ["pool-over-max-tasks"]))
        // Valid (PoolCancellation.abandon): task 1 runs while its caller is cancelled; task 2,
        // prefetched behind it, is dropped by the worker (taskEnd ok 2, no taskBegin) and
        // delivered as cancelled (outcome 4); task 1's value is delivered, unheard.
        out.append(("pool-abandon-dropped", true, poolTrace { b, root, w in
            submit(&b, root, task: 1, index: 0)
            submit(&b, root, task: 2, index: 1)
            dispatch(&b, root, task: 1, to: w[0])
            dispatch(&b, root, task: 2, to: w[0])
            run(&b, w[0], task: 1)
            b.event(w[0], .taskEnd, [.uint(pool), .uint(2), .uint(2)])
            result(&b, root, task: 1, index: 0)
            result(&b, root, task: 2, index: 1, outcome: 4)
        }, []))
        // Invalid: the worker says it dropped task 2, yet it began there, and it was delivered as run.
        out.append(("pool-dropped-task-ran", false, poolTrace { b, root, w in
            submit(&b, root, task: 1, index: 0)
            submit(&b, root, task: 2, index: 1)
            dispatch(&b, root, task: 1, to: w[0])
            dispatch(&b, root, task: 2, to: w[0])
            run(&b, w[0], task: 1)
            b.event(w[0], .taskBegin, [.uint(pool), .uint(2)])
            b.event(w[0], .taskEnd, [.uint(pool), .uint(2), .uint(2)])
            result(&b, root, task: 1, index: 0)
            result(&b, root, task: 2, index: 1)
        }, ["pool-task-rerun"]))
        return out
    }
}
