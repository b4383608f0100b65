import FoundationEssentials

extension Pool {
    /// Submits `f` over every input and returns at once a handle to the outputs, in input order
    /// (Python's `map_async`): `try await task.value`, `task.value(timeout:)`, `task.isReady`.
    /// The value throws the first failure in input order, as ``map(_:_:chunksize:timeout:)``.
    ///
    /// - Throws: ``PoolError`` `closed`, `overloaded` (a full `maxPending`), `encoding`.
    public func mapAsync<In, Out>(_ f: PoolFunction<In, Out>, _ inputs: some Sequence<In>, chunksize: Int? = nil,
                                  timeout: Duration? = nil) throws(PoolError) -> PoolTask<[Out]> {
        let (stream, tasks, counts) = try submit(f, Array(inputs), chunksize: chunksize, timeout: timeout, ordered: true, collect: true)
        let name = f.name
        return PoolTask(cancel: { [driver] in driver.send(.cancel(tasks)) }) { () -> Result<[Out], PoolError> in
            var outcomes = [ChunkOutcome?](repeating: nil, count: counts.count)
            for await batch in stream {
                for (chunk, outcome) in batch { outcomes[chunk] = outcome }
            }
            var out: [Out] = []
            for (o, n) in zip(outcomes, counts) {
                guard let o else { return .failure(PoolError(.cancelled, "\(name): cancelled")) }
                for r in Pool.items(o, count: n, as: Out.self, function: name) {
                    switch r {
                    case .success(let v): out.append(v)
                    case .failure(let e): return .failure(e)
                    }
                }
            }
            return .success(out)
        }
    }

    /// Python's `starmap_async`: each input is a pair of arguments.
    public func starmapAsync<A, B, Out>(_ f: PoolFunction<Arguments2<A, B>, Out>, _ inputs: some Sequence<(A, B)>,
                                        chunksize: Int? = nil, timeout: Duration? = nil) throws(PoolError) -> PoolTask<[Out]> {
        try mapAsync(f, inputs.map { Arguments2($0.0, $0.1) }, chunksize: chunksize, timeout: timeout)
    }
}

extension PoolTask {
    /// A handle whose result `produce` computes (from a call's outcome stream).
    convenience init(cancel: @escaping @Sendable () -> Void, _ produce: @escaping @Sendable () async -> Result<Output, PoolError>) {
        self.init(cancelTasks: cancel)
        Task { [state] in
            let r = await produce()
            let waiters = state.withLock { s in
                s.result = r
                defer { s.waiters = [:] }
                return Array(s.waiters.values)
            }
            for w in waiters { w.resume(returning: r) }
        }
    }
}
