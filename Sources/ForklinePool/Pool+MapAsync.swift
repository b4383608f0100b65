import FoundationEssentials

extension Pool {
    /// Submits `f` over every input and returns at once a handle to the outputs, in input order
    /// (Python's `map_async`): `try await task.value`, `task.value(timeout:)`, `task.isReady`.
    /// The value throws the first failure in input order, as ``map(_:_:chunksize:timeout:)``.
    ///
    /// - Parameters:
    ///   - callback: called once, in this process, with the outputs when the call succeeds
    ///     (Python's `callback=`), before the handle is ready.
    ///   - errorCallback: called once, in this process, with the call's error otherwise
    ///     (Python's `error_callback=`; a cancelled call's is `cancelled`).
    /// - Throws: ``PoolError`` `closed`, `overloaded` (a full `maxPending`), `encoding`.
    public func mapAsync<In, Out>(_ f: PoolFunction<In, Out>, _ inputs: some Sequence<In>, chunksize: Int? = nil,
                                  timeout: Duration? = nil, callback: (@Sendable ([Out]) -> Void)? = nil,
                                  errorCallback: (@Sendable (PoolError) -> Void)? = nil) throws(PoolError) -> PoolTask<[Out]> {
        let (stream, tasks, counts) = try submit(f, Array(inputs), chunksize: chunksize, timeout: timeout, ordered: true, collect: true)
        let name = f.name
        return PoolTask(cancel: { [driver] in driver.send(.cancel(tasks)) },
                        notify: PoolTask.notifier(callback, errorCallback)) { () -> Result<[Out], PoolError> in
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

    /// Python's `starmap_async`: each input is a pair of arguments; `callback` and
    /// `errorCallback` as ``mapAsync(_:_:chunksize:timeout:callback:errorCallback:)``.
    public func starmapAsync<A, B, Out>(_ f: PoolFunction<Arguments2<A, B>, Out>, _ inputs: some Sequence<(A, B)>,
                                        chunksize: Int? = nil, timeout: Duration? = nil, callback: (@Sendable ([Out]) -> Void)? = nil,
                                        errorCallback: (@Sendable (PoolError) -> Void)? = nil) throws(PoolError) -> PoolTask<[Out]> {
        try mapAsync(f, inputs.map { Arguments2($0.0, $0.1) }, chunksize: chunksize, timeout: timeout,
                     callback: callback, errorCallback: errorCallback)
    }
}

extension PoolTask {
    /// One closure that calls `callback` with a success and `errorCallback` with a failure;
    /// nil when both are nil.
    static func notifier(_ callback: (@Sendable (Output) -> Void)?,
                         _ errorCallback: (@Sendable (PoolError) -> Void)?) -> (@Sendable (Result<Output, PoolError>) -> Void)? {
        guard callback != nil || errorCallback != nil else { return nil }
        return { r in
            switch r {
            case .success(let v): callback?(v)
            case .failure(let e): errorCallback?(e)
            }
        }
    }

    /// A handle whose result `produce` computes (from a call's outcome stream); `notify` runs
    /// once with it before the handle is ready (Python calls `callback` before `ready()`).
    convenience init(cancel: @escaping @Sendable () -> Void, notify: (@Sendable (Result<Output, PoolError>) -> Void)? = nil,
                     _ produce: @escaping @Sendable () async -> Result<Output, PoolError>) {
        self.init(cancelTasks: cancel)
        Task { [state] in
            let r = await produce()
            notify?(r)
            PoolTask.complete(state, r)
        }
    }
}
