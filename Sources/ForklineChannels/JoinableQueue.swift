import CForkline
import ForklineTrace

/// A queue whose consumers say when they finished each item, so a producer can wait for all
/// the work to be done: Python's `multiprocessing.JoinableQueue`.
///
/// ```swift
/// let jobs = try JoinableQueue<Int>()
/// for n in 0..<100 { try jobs.put(n) }
/// // each consumer: let n = try jobs.get(); work(n); try jobs.taskDone()
/// try jobs.join()  // every item put has had its taskDone
/// ```
public final class JoinableQueue<T: Codable & Sendable>: Queue<T>, @unchecked Sendable {
    // @unchecked: adds no stored state to ``Queue`` (whose reason holds): the unfinished count
    // lives in the ring's shared header, changed only under the ring's process-shared locks.
    /// Creates a joinable queue (the parameters are ``Queue``'s).
    public convenience init(maxSize: Int = 0, capacity: Int = 4 << 20) throws(ChannelError) {
        self.init(ring: try QueueRing(maxSize: maxSize, capacity: capacity), joinable: true)
    }

    /// Says that an item got from the queue is done with (recorded as `queueTaskDone`).
    ///
    /// - Throws: ``ChannelError`` `taskDoneTooOften` when every item put is already done.
    public func taskDone() throws(ChannelError) { try ring.taskDone() }

    /// Waits until every item put so far had its ``taskDone()`` (recorded as `queueJoin`).
    ///
    /// A producer killed inside `put` never hangs it: an item it had not published was never
    /// put, one it had is there to be got. An item taken out by a consumer that died inside `get`
    /// (before `get` returned it) is counted lost instead of unfinished forever: `join` then
    /// throws ``ChannelError/Code/itemLost`` naming it, once every other item is done. (An item
    /// a consumer got and then died holding, before its `taskDone`, still counts as unfinished:
    /// give `join` a timeout when consumers may be killed.)
    ///
    /// - Returns: false when `timeout` passed first.
    /// - Throws: ``ChannelError/Code/itemLost`` when an item was lost (see ``lostItems``).
    @available(*, noasync, message: "blocking; use the async join")
    @discardableResult
    public func join(timeout: Duration? = nil) throws(ChannelError) -> Bool { try ring.join(timeout: timeout) }

    /// Suspends until every item put so far had its ``taskDone()``; false on timeout.
    @discardableResult
    public func join(timeout: Duration? = nil) async throws(ChannelError) -> Bool {
        let deadline = QueueRing.deadline(timeout)
        while true {
            let seen = fl_queue_seq(ring.q, 2)
            if try ring.join(timeout: .zero) { return true }
            if Task.isCancelled { throw ChannelError(.cancelled, "\(ring.label): cancelled while joining") }
            if let deadline, fl_monotonic_ns() >= deadline { return false }
            let ring = self.ring
            _ = await Offload.run { ring.wait(2, seen, until: deadline) }
        }
    }

    /// Items lost so far: taken out by a process that died inside `get` before returning them.
    public var lostItems: Int {
        ring.lock(.get)
        defer { ring.unlock(.get) }
        return ring.lost().count
    }

    /// The number of items put and not yet marked done.
    public var unfinishedTasks: Int {
        ring.lock(.get)
        ring.lock(.put)
        defer { ring.unlock(.put); ring.unlock(.get) }
        return Int(fl_queue_unfinished(ring.q))
    }
}
