extension Pool {
    /// Suspends until the pool's driver has ended (every worker exited), without closing it.
    package func waitUntilFinished() async { await driver.waitFinished() }

    /// True once the pool has ended (closed and drained, terminated, or broken).
    package var isFinished: Bool { driver.isFinished }

    /// Awaits the one task of an ``apply(_:_:timeout:)`` (submitted with `one`) and returns its
    /// output: the caller is resumed by the driver thread itself (``SingleOutcome``).
    ///
    /// - Throws: the task's ``PoolError``; `CancellationError` when the caller is cancelled
    ///   (which also cancels the task: dropped unrun, or abandoned or killed by the pool's
    ///   ``PoolCancellation``).
    func awaitApplied<In, Out>(_ one: SingleOutcome, _ f: PoolFunction<In, Out>, tasks: [UInt64]) async throws -> Out {
        guard let outcome = await one.value(cancel: { [driver] in driver.send(.cancel(tasks)) }) else {
            throw CancellationError()
        }
        return try Pool.items(outcome, count: 1, as: Out.self, function: f.name)[0].get()
    }
}
