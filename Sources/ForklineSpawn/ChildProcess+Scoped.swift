import ForklineTrace

/// How a scoped child (``ChildProcess/withChild(entry:arguments:options:teardown:_:)``) is ended
/// when its scope ends while it still runs: wait, then SIGTERM, then SIGKILL. Teardown always
/// ends: SIGKILL cannot be refused.
public struct Teardown: Sendable, Hashable {
    /// How long the child may go on after the scope's body returned or threw, to exit by itself.
    public var gracePeriod: Duration
    /// How long after SIGTERM before SIGKILL.
    public var terminationGrace: Duration

    /// Creates a teardown; the defaults give a well-behaved child time to finish.
    public init(gracePeriod: Duration = .seconds(5), terminationGrace: Duration = .seconds(2)) {
        self.gracePeriod = gracePeriod
        self.terminationGrace = terminationGrace
    }

    /// Waits 5 s, then SIGTERM, then SIGKILL 2 s later.
    public static let `default` = Teardown()
    /// SIGKILL at once.
    public static let immediate = Teardown(gracePeriod: .zero, terminationGrace: .zero)
}

extension ChildProcess {
    /// Starts a child that runs `entry` with `arguments`, runs `body` with it, and ends it
    /// whatever happens: when `body` returns or throws, the child gets ``Teardown/gracePeriod``
    /// to exit, then SIGTERM, then SIGKILL after ``Teardown/terminationGrace``, and is joined.
    /// The handle must not be used after the scope.
    ///
    /// ```swift
    /// let (answer, status) = try await ChildProcess.withChild(entry: worker, arguments: job) { child in
    ///     try await connection.receive(Int.self)
    /// }
    /// ```
    ///
    /// - Returns: what `body` returned and how the child ended.
    /// - Throws: ``SpawnError`` when the child cannot start (then `body` does not run); whatever
    ///   `body` throws, after the child was ended and joined.
    public static func withChild<A, R>(
        entry: EntryPoint<A>, arguments: A, options: ChildOptions = ChildOptions(), teardown: Teardown = .default,
        _ body: (ChildProcess) async throws -> R
    ) async throws -> (value: R, status: ExitStatus) {
        try await scoped(try ChildProcess(entry: entry, arguments: arguments, options: options), teardown, body)
    }

    /// As ``withChild(entry:arguments:options:teardown:_:)``, for a fork child running `closure`.
    public static func withChild<R>(
        options: ChildOptions = ChildOptions(), teardown: Teardown = .default,
        running closure: @escaping @Sendable () throws -> Void,
        _ body: (ChildProcess) async throws -> R
    ) async throws -> (value: R, status: ExitStatus) {
        try await scoped(ChildProcess(options: options, closure), teardown, body)
    }

    static func scoped<R>(_ child: ChildProcess, _ teardown: Teardown,
                          _ body: (ChildProcess) async throws -> R) async throws -> (value: R, status: ExitStatus) {
        try child.start()
        let result: Result<R, any Error>
        do { result = .success(try await body(child)) } catch { result = .failure(error) }
        let status = await child.end(teardown)
        let value = try result.get()
        return (value, try status.get())
    }

    /// Ends a started child: waits up to the grace period, then SIGTERM, then SIGKILL; joins.
    func end(_ teardown: Teardown) async -> Result<ExitStatus, SpawnError> {
        if let s = await awaitExit(within: teardown.gracePeriod) { return .success(s) }
        try? terminate()
        if let s = await awaitExit(within: teardown.terminationGrace) { return .success(s) }
        try? kill()
        while true {
            // Cancellation of the scope's task must not leave the child unjoined: after SIGKILL
            // its end is a matter of the kernel's moment; look again until it is there. Any
            // other failure (its status lost to a foreign reaper) ends the wait with that error.
            do { return .success(try await join()) } catch where error.code != .cancelled {
                return .failure(error)
            } catch {}
            if let s = joinIfEnded() { return .success(s) }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// The status of a child that has ended (the join recorded), nil while it runs; never waits.
    func joinIfEnded() -> ExitStatus? {
        guard (try? joinableFD()) != nil, let status = try? collect() else { return nil }
        return recordJoin(status)
    }

    /// The child's status if it ends within `limit`, else nil (the join is abandoned, not the child).
    func awaitExit(within limit: Duration) async -> ExitStatus? {
        if limit <= .zero { return joinIfEnded() }
        return await withTaskGroup(of: ExitStatus?.self) { group in
            group.addTask { try? await self.join() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }
}
