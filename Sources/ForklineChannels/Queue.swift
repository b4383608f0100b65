import CForkline
import ForklineTrace

/// A first-in first-out queue shared by processes: Python's `multiprocessing.Queue`.
///
/// Any number of processes put and get; each item goes to exactly one getter. Items live in a
/// shared-memory ring (anonymous, nothing in /dev/shm): `put` has copied the item there before it
/// returns, so a producer may exit right after it and nothing is lost (Python's feeder-thread
/// pitfall does not exist here). Give the queue to children with ``ChildOptions/pass(_:)`` and in
/// the entry point's arguments, as a ``Connection``.
///
/// ```swift
/// let queue = try Queue<Int>(maxSize: 100)
/// var options = ChildOptions(method: .spawn)
/// options.pass(queue)
/// // child: for i in 0..<10 { try args.queue.put(i) }
/// let first = try await queue.get(timeout: .seconds(5))
/// ```
///
/// Plain-data items (integers, floats, structs of them), `String` and `[UInt8]` are copied as
/// bytes; other Codable items go through the binary codec (`JSONCoded` ones as JSON). An item's encoding must fit the ring (`capacity`,
/// 4 MiB by default); a larger one is an `oversizedFrame` error. Putters and getters have a lock
/// each (a put never waits for a get's critical section); a process killed while holding one
/// does not wedge the others: the next process on that side recovers it.
///
/// Each put records a `send` event on the queue's channel id and each get a `recv` naming it,
/// so `replay check` proves no item was received twice or out of its producer's order.
public class Queue<T: Codable & Sendable>: Codable, PassableToChild, @unchecked Sendable {
    // @unchecked: all state is in the shared ring (behind its process-shared locks) or in
    // QueueRing's lock-protected handle state.
    @usableFromInline let ring: QueueRing
    @usableFromInline let joinable: Bool

    /// The queue's id in traces (the channel of its send and recv events).
    public var id: UInt64 { ring.id }

    /// Creates a queue.
    ///
    /// - Parameters:
    ///   - maxSize: the most items it holds (a put waits for room); 0: no limit but the ring.
    ///   - capacity: the ring's size in bytes, the bound on one item and on all queued items.
    /// - Throws: ``ChannelError`` when shared memory cannot be had.
    public convenience init(maxSize: Int = 0, capacity: Int = 4 << 20) throws(ChannelError) {
        self.init(ring: try QueueRing(maxSize: maxSize, capacity: capacity), joinable: false)
    }

    init(ring: QueueRing, joinable: Bool) {
        self.ring = ring
        self.joinable = joinable
    }

    enum CodingKeys: String, CodingKey { case id, fd, capacity, joinable }

    /// Encodes the queue for a child's arguments (its id, descriptor number and ring size).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ring.id, forKey: .id)
        try c.encode(ring.segment.fd, forKey: .fd)
        try c.encode(ring.capacity, forKey: .capacity)
        try c.encode(joinable, forKey: .joinable)
    }

    /// Decodes a queue passed by the parent: the child maps the same ring again.
    ///
    /// - Throws: `ChannelError` `closed` when its descriptor was not passed to this process
    ///   (``ChildOptions/pass(_:)``).
    public required convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let fd = try SharedSegment.local(try c.decode(Int32.self, forKey: .fd))
        let ring = try QueueRing(id: try c.decode(UInt64.self, forKey: .id), inherited: fd, capacity: try c.decode(Int.self, forKey: .capacity))
        self.init(ring: ring, joinable: try c.decode(Bool.self, forKey: .joinable))
    }

    /// Puts an item, waiting up to `timeout` for room (nil: as long as it takes).
    ///
    /// - Throws: ``ChannelError``: `full` when there was no room in time, `oversizedFrame` when
    ///   the item cannot fit the ring, `encoding`, `closed`.
    @available(*, noasync, message: "blocking; use the async put")
    @inlinable
    public final func put(_ item: T, timeout: Duration? = nil) throws(ChannelError) {
        try send(item, QueueRing.Patience(timeout))
    }

    /// Puts an item if there is room now; `full` otherwise.
    @inlinable
    public final func putNowait(_ item: T) throws(ChannelError) { try send(item, .none) }

    /// Gets the oldest item, waiting up to `timeout` for one (nil: as long as it takes).
    ///
    /// - Throws: ``ChannelError``: `empty` when none came in time, `encoding`, `closed`.
    @available(*, noasync, message: "blocking; use the async get")
    @inlinable
    public final func get(timeout: Duration? = nil) throws(ChannelError) -> T {
        try receive(QueueRing.Patience(timeout))
    }

    /// Gets the oldest item if there is one now; `empty` otherwise.
    @inlinable
    public final func getNowait() throws(ChannelError) -> T { try receive(.none) }

    @inlinable
    final func send(_ item: T, _ patience: QueueRing.Patience) throws(ChannelError) {
        var failure: ChannelError? = nil
        if _isPOD(T.self) {
            // Plain data, MessageCodec's plain path written out: no type tests, no label passed.
            var v = item
            withUnsafeBytes(of: &v) { b in
                if ring.putUsual(b, type: MessageCodec.plain, joinable: joinable) { return }
                do throws(ChannelError) { try ring.put(b, type: MessageCodec.plain, patience, joinable: joinable) } catch { failure = error }
            }
        } else {
            try MessageCodec.withEncoded(item, label: ring.label) { b, type in
                if ring.putUsual(b, type: type, joinable: joinable) { return }
                do throws(ChannelError) { try ring.put(b, type: type, patience, joinable: joinable) } catch { failure = error }
            }
        }
        if let failure { throw failure }
    }

    @inlinable
    final func receive(_ patience: QueueRing.Patience) throws(ChannelError) -> T {
        // Small items are taken into this buffer on the stack; larger ones into an array.
        var small: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        var value: T? = nil
        var failure: ChannelError? = nil
        withUnsafeMutableBytes(of: &small) { b in
            do throws(ChannelError) {
                // The usual get inlined here; the full way (waits, tracing, first use) otherwise.
                let got: (count: Int, type: UInt32, big: [UInt8]?)
                if let usual = ring.getUsual(joinable: joinable, into: b) { got = usual } else { got = try ring.get(patience, joinable: joinable, into: b) }
                let (count, type, big) = got
                if let big {
                    value = try MessageCodec.decode(big, type: type, as: T.self, label: ring.label)
                } else if _isPOD(T.self) && type == MessageCodec.plain && count == MemoryLayout<T>.size && count > 0 {
                    value = UnsafeRawBufferPointer(b).loadUnaligned(as: T.self)  // MessageCodec's plain path
                } else {
                    value = try MessageCodec.decode(UnsafeRawBufferPointer(rebasing: b[..<count]), type: type, as: T.self, label: ring.label)
                }
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return value!
    }

    /// Puts an item, suspending (not blocking a thread of the cooperative pool) while it waits
    /// for room.
    public func put(_ item: T, timeout: Duration? = nil) async throws(ChannelError) {
        try await waiting(1, timeout, full: true) { () throws(ChannelError) in try putNowait(item) }
    }

    /// Gets the oldest item, suspending while it waits for one.
    public func get(timeout: Duration? = nil) async throws(ChannelError) -> T {
        try await waiting(0, timeout, full: false) { () throws(ChannelError) -> T in try getNowait() }
    }

    func waiting<R>(_ which: Int32, _ timeout: Duration?, full: Bool, _ attempt: () throws(ChannelError) -> R) async throws(ChannelError) -> R {
        let deadline = QueueRing.deadline(timeout)
        let kind: WaitKind = full ? .queuePut : .queueGet
        var began = false
        while true {
            let seen = fl_queue_seq(ring.q, which)
            do {
                let r = try attempt()
                Tracer.waitEnd(began, kind, ring.id, .done)
                return r
            } catch {
                guard error.code == (full ? .full : .empty) else {
                    Tracer.waitEnd(began, kind, ring.id, .failed)
                    throw error
                }
            }
            if Task.isCancelled {
                Tracer.waitEnd(began, kind, ring.id, .failed)
                throw ChannelError(.cancelled, "\(ring.label): cancelled while waiting to \(full ? "put" : "get")")
            }
            if let deadline, fl_monotonic_ns() >= deadline {
                Tracer.waitEnd(began, kind, ring.id, .timedOut)
                throw ChannelError(full ? .full : .empty, "\(ring.label): \(full ? "full" : "empty") until the timeout")
            }
            if !began { began = Tracer.waitBegin(kind, ring.id) }
            let ring = self.ring
            _ = await Offload.run { ring.wait(which, seen, until: deadline) }
        }
    }

    /// The number of items in the queue now (exact at the moment it is read; other processes
    /// may change it right after).
    public var qsize: Int { ring.count }

    /// True when the queue holds no item now.
    public var isEmpty: Bool { ring.count == 0 }

    /// True when a put would wait now (`maxSize` items, or the ring's bytes used up).
    public var isFull: Bool { ring.isFull }

    /// The largest item encoding the ring can hold.
    public var maxMessageSize: Int { ring.maxMessageSize }

    /// Closes this process's handle (Python's `close`): later calls on it throw `closed`; items
    /// already put stay in the queue for other processes.
    public func close() { ring.close() }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [ring.segment.fd] }

    /// Where ``dieInside(_:)`` kills the calling process (a test hook).
    package enum FaultPoint: Int32 {
        /// In a put, after the item is written and counted, before it is published.
        case putBeforePublish = 1
        /// In a put, after the item is published, before the internal lock is released.
        case putAfterPublish = 2
        /// In a get, after the item is taken out, before the internal lock is released.
        case getAfterTake = 3
        /// In a taskDone, holding the internal lock, before the unfinished count goes down.
        case inTaskDone = 4
    }

    /// Test hook: the next put or get of this process that reaches `point` SIGKILLs the process.
    package func dieInside(_ point: FaultPoint) { fl_queue_set_fault_point(point.rawValue) }

    /// Test hook: takes the queue's internal locks (both sides) and never releases them.
    package func holdInternalLockForever() { ring.holdLockForever() }

    /// Test hook: the getters the queue counts asleep in the kernel (waiting for an item).
    package var sleepingGetters: Int { Int(fl_queue_waiters(ring.q, 0)) }

    /// Test hook: the putters the queue counts asleep in the kernel (waiting for room).
    package var sleepingPutters: Int { Int(fl_queue_waiters(ring.q, 1)) }

    /// Test hook: takes the lock a get holds (the getters' side) and never releases it.
    package func holdGetLockForever() { ring.holdLockForever([.get]) }
}
