@testable import ForklinePool
import Synchronization
import Testing

/// The one-shot an awaited `apply` is resumed from (``SingleOutcome``), without processes.
@Suite("SingleOutcome: an apply's one outcome")
struct SingleOutcomeTests {
    static let ok = ChunkOutcome.reply(.values([1, 2, 3]), 42)

    @Test("an outcome that arrives before its caller awaits it is kept")
    func outcomeFirst() async {
        let one = SingleOutcome()
        one.finish(Self.ok)
        let got = await one.value(cancel: {})
        guard case .reply(.values(let b), let pid)? = got else { Issue.record("got \(String(describing: got))"); return }
        #expect(b == [1, 2, 3] && pid == 42)
    }

    @Test("a cancelled caller returns nil at once and cancels its task; the outcome that comes later is dropped")
    func cancelled() async {
        let one = SingleOutcome()
        let cancels = CancelCount()
        let waiter = Task { await one.value(cancel: { cancels.add() }) }
        waiter.cancel()
        let got = await waiter.value
        #expect(got == nil)
        #expect(cancels.value == 1)
        one.finish(Self.ok)  // the driver's outcome after the cancellation: no second resume
    }

    @Test("a call dropped unfinished fails its waiting apply with cancelled instead of leaving it waiting")
    func droppedCall() async {
        let one = SingleOutcome()
        let waiter = Task { await one.value(cancel: {}) }
        do {
            let (_, c) = AsyncStream<[(Int, ChunkOutcome)]>.makeStream()
            _ = CallState(pool: 1, call: 1, ordered: true, collect: false, starts: [0], continuation: c, single: one)
        }
        let got = await waiter.value
        guard case .failure(let e)? = got else { Issue.record("got \(String(describing: got))"); return }
        #expect(e.code == .cancelled)
    }
}

/// How many times a cancel closure ran.
final class CancelCount: Sendable {
    let count = Mutex(0)
    func add() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}

/// The one-shot an `applyAsync` handle is completed from (``PoolTask/init(single:function:cancel:notify:)``).
@Suite("SingleOutcome forwarded: an applyAsync handle completed by the driver thread")
struct SingleOutcomeForwardTests {
    @Test("a handle is ready as soon as its outcome is finished, on the finishing thread: no task hop")
    func readyAtFinish() async throws {
        let one = SingleOutcome()
        let handle = PoolTask<Int>(single: one, function: "f", cancel: {})
        #expect(!handle.isReady)
        one.finish(.reply(.values(try JSONChunks.encodeChunk([7])), 42))
        #expect(handle.isReady)
        #expect(try await handle.value == 7)
    }

    @Test("an outcome finished before the handle forwards it is delivered at once")
    func outcomeFirst() async throws {
        let one = SingleOutcome()
        one.finish(.failure(PoolError(.workerDied, "gone")))
        let handle = PoolTask<Int>(single: one, function: "f", cancel: {})
        #expect(handle.isReady)
        await #expect(throws: PoolError.self) { try await handle.value }
    }

    @Test("with callbacks, the callback runs before the handle is ready, off the finishing thread")
    func callbackFirst() async throws {
        let one = SingleOutcome()
        let seen = Mutex<[Int]>([])
        let handle = PoolTask<Int>(single: one, function: "f", cancel: {},
                                   notify: PoolTask.notifier({ v in seen.withLock { $0.append(v) } }, nil))
        one.finish(.reply(.values(try JSONChunks.encodeChunk([9])), 42))
        #expect(try await handle.value == 9)
        #expect(seen.withLock { $0 } == [9])
    }

    @Test("a call dropped unfinished fails its handle with cancelled")
    func dropped() async throws {
        let one = SingleOutcome()
        let handle = PoolTask<Int>(single: one, function: "f", cancel: {})
        one.abandon()
        do {
            _ = try await handle.value
            Issue.record("no error")
        } catch let e as PoolError {
            #expect(e.code == .cancelled)
        }
    }
}
