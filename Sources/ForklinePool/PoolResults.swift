import ForklineTrace
import ForklineSystem

/// The outputs of ``Pool/imap(_:_:chunksize:timeout:)`` or
/// ``Pool/imapUnordered(_:_:chunksize:timeout:)``, as they become available.
///
/// ```swift
/// for try await y in try pool.imap(square, 1...5) { print(y) }
/// ```
///
/// Iterating throws the ``PoolError`` of a failed item; a later iteration resumes with the next
/// item. Cancelling the iterating task cancels the tasks not yet dispatched.
public struct PoolResults<Output: Codable & Sendable>: AsyncSequence, Sendable {
    public typealias Element = Output
    let stream: AsyncStream<[(Int, ChunkOutcome)]>
    let counts: [Int]
    let function: String
    let cancel: @Sendable () -> Void

    /// Iterates the outputs.
    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: AsyncStream<[(Int, ChunkOutcome)]>.AsyncIterator
        let counts: [Int]
        let function: String
        let cancel: @Sendable () -> Void
        var chunks: [(Int, ChunkOutcome)] = []
        var nextChunk = 0
        var buffer: [Result<Output, PoolError>] = []
        var at = 0

        /// The next output; throws a failed item's ``PoolError`` at its place.
        public mutating func next() async throws -> Output? {
            while at == buffer.count {
                if nextChunk == chunks.count {
                    let cancel = self.cancel
                    let item = await withTaskCancellationHandler { await base.next() } onCancel: { cancel() }
                    guard let item else {
                        try Task.checkCancellation()
                        return nil
                    }
                    chunks = item
                    nextChunk = 0
                    continue
                }
                let (chunk, outcome) = chunks[nextChunk]
                nextChunk += 1
                buffer = Pool.items(outcome, count: counts[chunk], as: Output.self, function: function)
                at = 0
            }
            defer { at += 1 }
            return try buffer[at].get()
        }
    }

    /// An iterator over the outputs.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: stream.makeAsyncIterator(), counts: counts, function: function, cancel: cancel)
    }
}

/// A task submitted with ``Pool/applyAsync(_:_:timeout:)``: Python's `AsyncResult`.
public final class PoolTask<Output: Codable & Sendable>: Sendable {
    struct State {
        var result: Result<Output, PoolError>?
        var waiters: [UInt64: CheckedContinuation<Result<Output, PoolError>?, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    let state = ForkSafeLock(State())
    let cancelTasks: @Sendable () -> Void

    init(cancelTasks: @escaping @Sendable () -> Void) { self.cancelTasks = cancelTasks }

    /// Waits for the result, or until `deadline` passes (nil).
    func wait(_ timeout: Duration?) async -> Result<Output, PoolError>? {
        let state = self.state
        let id = state.withLock { s in
            defer { s.nextWaiter += 1 }
            return s.nextWaiter
        }
        let timer = timeout.map { t in
            Task {
                try? await Task.sleep(for: t)
                state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
            }
        }
        defer { timer?.cancel() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Result<Output, PoolError>?, Never>) in
                let now = state.withLock { s -> Result<Output, PoolError>?? in
                    if let r = s.result { return .some(r) }
                    if Task.isCancelled { return .some(nil) }
                    s.waiters[id] = c
                    return nil
                }
                if let now { c.resume(returning: now) }
            }
        } onCancel: { [cancelTasks] in
            cancelTasks()
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }

    /// The task's output, once it has finished.
    ///
    /// - Throws: its ``PoolError``; `CancellationError` when the awaiting task is cancelled
    ///   (which also cancels the pool task if no worker took it yet).
    public var value: Output {
        get async throws {
            guard let r = await wait(nil) else { throw CancellationError() }
            return try r.get()
        }
    }

    /// The output, waiting at most `timeout` (Python's `get(timeout)`).
    ///
    /// - Throws: ``PoolError`` `waitTimedOut` when it is not ready in time (the task goes on), or
    ///   the task's error; `CancellationError` when the awaiting task is cancelled.
    public func value(timeout: Duration) async throws -> Output {
        guard let r = await wait(timeout) else {
            try Task.checkCancellation()
            throw PoolError(.waitTimedOut, "the task was not ready within \(timeout)")
        }
        return try r.get()
    }

    /// True once the task has a result or an error (Python's `ready()`).
    public var isReady: Bool { state.withLock { $0.result != nil } }
}
