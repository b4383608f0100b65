import ForklineSystem

extension PoolTask {
    /// A handle completed by the thread that finishes `one` (the pool's driver): its waiters are
    /// resumed from there, one hop onto their executors, as an awaited ``Pool/apply(_:_:timeout:)``
    /// is. Read from a stream by a task of its own, a handle cost that task and two hops.
    ///
    /// With `notify` (the call's callbacks), or an output over ``decodedInline`` bytes, the
    /// decoding, the callbacks and the waiters run in a task of their own instead: neither a
    /// user's callback nor a large decode runs on the driver thread, where it would hold up every
    /// other reply.
    convenience init(single one: SingleOutcome, function: String, cancel: @escaping @Sendable () -> Void,
                     notify: (@Sendable (Result<Output, PoolError>) -> Void)? = nil) {
        self.init(cancelTasks: cancel)
        let state = self.state
        one.forward { outcome in
            let result = {
                outcome.map { Pool.items($0, count: 1, as: Output.self, function: function)[0] }
                    ?? .failure(PoolError(.cancelled, "\(function): cancelled"))
            }
            guard notify != nil || PoolTask.outputBytes(outcome) > PoolTask.decodedInline else {
                return PoolTask.complete(state, result())
            }
            Task {
                let r = result()
                notify?(r)
                PoolTask.complete(state, r)
            }
        }
    }

    /// The largest output (bytes) a handle decodes on the driver thread.
    static var decodedInline: Int { 16 << 10 }

    /// The size of the output bytes `outcome` carries (0 for a failure).
    static func outputBytes(_ outcome: ChunkOutcome?) -> Int {
        switch outcome {
        case .reply(.values(let b), _)?, .reply(.mixed(let b), _)?: b.count
        default: 0
        }
    }

    /// Stores the result and resumes every waiter with it.
    static func complete(_ state: ForkSafeLock<State>, _ r: Result<Output, PoolError>) {
        let waiters = state.withLock { s in
            s.result = r
            defer { s.waiters = [:] }
            return Array(s.waiters.values)
        }
        for w in waiters { w.resume(returning: r) }
    }
}
