import CForkline
import ForklineTrace
import Synchronization
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// The shared-memory ring under ``Queue``, ``SimpleQueue`` and ``JoinableQueue``: a memfd
/// segment holding two process-shared locks (putters', getters'), counters and a byte ring
/// (`Sources/CForkline/queue.c`).
///
/// A put copies the message into the ring before it returns (there is no feeder thread), so a
/// producer that exits right after `put` loses nothing. The `send` event is reserved under the
/// putters' lock, its id stored with the message and the event committed before the message
/// is published, so each `recv` names a complete send and one producer's messages are received
/// in its send order.
@usableFromInline
final class QueueRing: @unchecked Sendable {
    // @unchecked: the ring's contents are reached only under its process-shared locks (or
    // through atomics in queue.c); the per-handle flags are atomic.
    let id: UInt64
    let segment: SharedSegment
    let capacity: Int
    /// This handle's flags: 1 opened (its channelOpen recorded), 2 closed.
    @usableFromInline let flags = Atomic<UInt8>(0)

    /// Spins before sleeping on a futex: a hand-off to a process running on the other CPU
    /// costs far less than a cross-CPU wake-up (docs/benchmarks.md).
    static let spins: Int32 = 2000
    /// The longest single sleep: a waiter woken for a message that a killed process then never
    /// took looks again at least this often.
    static let slice: Int64 = 200_000_000

    /// The segment's base (the ring's header), kept here: a put or get reads no other object.
    @usableFromInline let q: UnsafeMutableRawPointer

    /// The two sides of the ring, each with its own lock: a put never waits for a get's
    /// critical section, nor a get for a put's. Code that needs both takes `get` first.
    enum Side: Int32 {
        /// Getters: take, taskDone, join, lost items.
        case get = 0  // FL_QUEUE_GET
        /// Putters.
        case put = 1  // FL_QUEUE_PUT
    }

    init(maxSize: Int, capacity: Int) throws(ChannelError) {
        guard maxSize >= 0 else { throw ChannelError(.encoding, "a queue's maxSize must be >= 0 (0: no limit), not \(maxSize)") }
        let cap = max(256, (capacity + 7) & ~7)
        id = UInt64.random(in: 1...UInt64.max)
        segment = try SharedSegment(size: Int(FL_QUEUE_HEADER_SIZE) + cap, name: "forkline-queue")
        q = segment.base
        self.capacity = cap
        label = "queue \(hex16(id))"
        events = Self.makeEvents(id)
        let rc = fl_queue_init(segment.base, UInt64(cap), UInt64(maxSize))
        if rc != 0 { throw ChannelError(.systemCallFailed, "initialising a queue: \(String(cString: strerror(rc)))", syscall: "fl_queue_init", errno: rc) }
    }

    init(id: UInt64, inherited fd: Int32, capacity: Int) throws(ChannelError) {
        self.id = id
        self.capacity = capacity
        label = "queue \(hex16(id))"
        events = Self.makeEvents(id)
        segment = try SharedSegment(inherited: fd, size: Int(FL_QUEUE_HEADER_SIZE) + capacity)
        q = segment.base
    }

    deinit { close() }

    /// A name for messages (computed once: it is passed on every put and get).
    @usableFromInline let label: String

    /// The largest message payload the ring holds.
    var maxMessageSize: Int { capacity - 24 }

    func lock(_ side: Side) {
        let rc = fl_queue_lock(q, side.rawValue)
        if rc == 1 { unusual(FL_QUEUE_RECOVERED) }
        precondition(rc >= 0, "\(label): locking its side failed: \(String(cString: strerror(-rc)))")
    }

    func unlock(_ side: Side) { _ = fl_queue_unlock(q, side.rawValue) }

    /// Throws `closed` when this handle is closed; records the handle's `channelOpen` on its first
    /// use. The usual case (open, not closed) is one load, inlined into put and get.
    @inline(__always)
    func usable(_ what: StaticString) throws(ChannelError) {
        if flags.load(ordering: .acquiring) != 1 { try firstUseOrClosed(what) }
    }

    func firstUseOrClosed(_ what: StaticString) throws(ChannelError) {
        let f = flags.load(ordering: .acquiring)
        if f & 2 != 0 { throw ChannelError(.closed, "\(label): cannot \(what): this handle is closed") }
        if f & 1 == 0 && flags.bitwiseOr(1, ordering: .acquiringAndReleasing).oldValue & 1 == 0 {
            Tracer.record(.channelOpen, [.uint(id), .uint(3)])
        }
    }

    /// Closes this process's handle: later calls on it throw `closed`. Other handles and the
    /// messages in the ring are untouched.
    func close() {
        if flags.bitwiseOr(2, ordering: .acquiringAndReleasing).oldValue & 2 == 0 { Tracer.record(.channelClose, [.uint(id)]) }
    }

    /// The monotonic deadline of `timeout` from now (nil: none).
    static func deadline(_ timeout: Duration?) -> UInt64? {
        guard let timeout else { return nil }
        let (t, overflow) = fl_monotonic_ns().addingReportingOverflow(timeout.clampedNanoseconds)
        return overflow ? .max : t
    }

    /// How long a put or get may wait.
    @usableFromInline
    enum Patience {
        /// Not at all (the nowait calls): no clock is read.
        case none
        case forever
        case until(UInt64)

        /// Inlined: the usual blocking call (no timeout) is `.forever` with no call made.
        @inlinable
        init(_ timeout: Duration?) {
            guard let timeout else { self = .forever; return }
            self.init(finite: timeout)
        }

        @usableFromInline
        init(finite timeout: Duration) {
            if timeout == .zero { self = .none } else if let d = QueueRing.deadline(timeout) { self = .until(d) } else { self = .forever }
        }

        var deadline: UInt64? { if case .until(let d) = self { d } else { nil } }
    }

    /// Sleeps until futex word `which` moves past `seen` or the deadline: false when it passed.
    func wait(_ which: Int32, _ seen: UInt32, until deadline: UInt64?) -> Bool {
        var budget = Self.slice
        if let deadline {
            let now = fl_monotonic_ns()
            if now >= deadline { return false }
            budget = min(budget, Int64(deadline - now))
        }
        _ = fl_queue_wait(q, which, seen, budget, Self.spins)
        return true
    }

    /// The largest message every ring holds (its capacity is at least 256 bytes).
    @usableFromInline static let smallestMaxMessage = 256 - 24

    /// The usual put, inlined into `Queue`'s: the handle open, tracing off, a message every
    /// ring holds, room now: one call into queue.c and one test of its result. False when
    /// nothing was put (full, or not the usual case): the caller then calls ``put(_:type:_:joinable:)``,
    /// which tries again and waits as its patience allows.
    @inlinable @inline(__always)
    func putUsual(_ payload: UnsafeRawBufferPointer, type: UInt32, joinable: Bool) -> Bool {
        guard flags.load(ordering: .acquiring) == 1, payload.count <= Self.smallestMaxMessage, fl_trace_enabled() == 0 else { return false }
        var seen: UInt32 = 0
        let rc = fl_queue_put_now(q, payload.baseAddress, UInt32(payload.count), type, joinable ? 1 : 0, &seen, nil)
        return rc == FL_QUEUE_DONE || settled(rc)
    }

    /// A one-call put's or get's unusual result handled (``checked(_:)``): true when it was done.
    @usableFromInline
    func settled(_ rc: Int32) -> Bool {
        checked(rc)
        return rc & FL_QUEUE_DONE != 0
    }

    /// The usual get, inlined into `Queue`'s: the handle open, tracing off, an item there now
    /// (into `small` when it fits, else a new array, as ``get(_:joinable:into:)``). Nil when
    /// nothing was taken (empty, or not the usual case): the caller then calls `get`.
    @inlinable @inline(__always)
    func getUsual(joinable: Bool, into small: UnsafeMutableRawBufferPointer) -> (count: Int, type: UInt32, big: [UInt8]?)? {
        guard flags.load(ordering: .acquiring) == 1, fl_trace_enabled() == 0 else { return nil }
        var item = fl_queue_item()
        let rc = fl_queue_get_now(q, small.baseAddress, UInt32(small.count), joinable ? 1 : 0, &item, nil)
        if rc == FL_QUEUE_DONE { return (Int(item.len), item.type, nil) }
        return gotUnusual(rc, item, joinable: joinable, into: small)
    }

    /// `getUsual`'s other results: done with a mark to make, an item larger than `small` (still
    /// locked: taken here), or nothing.
    @usableFromInline
    func gotUnusual(_ rc: Int32, _ item: fl_queue_item, joinable: Bool, into small: UnsafeMutableRawBufferPointer) -> (count: Int, type: UInt32, big: [UInt8]?)? {
        if settled(rc) { return (Int(item.len), item.type, nil) }
        if rc & FL_QUEUE_LOCKED != 0 { return takeLocked(item, joinable: joinable, began: false, into: small) }
        return nil
    }

    /// Puts one message, waiting for room as `patience` allows.
    @usableFromInline
    func put(_ payload: UnsafeRawBufferPointer, type: UInt32, _ patience: Patience, joinable: Bool) throws(ChannelError) {
        try usable("put")
        let len = payload.count
        guard len <= maxMessageSize else {
            throw ChannelError(.oversizedFrame, "\(label): a \(len)-byte message does not fit its \(capacity)-byte ring; make the queue with a larger capacity")
        }
        var began = false
        while true {
            var seen: UInt32 = 0
            if !began {
                // The whole put is one call into queue.c (traced: the send recorded in it).
                let rc: Int32
                if fl_trace_enabled() == 0 {
                    rc = fl_queue_put_now(q, payload.baseAddress, UInt32(len), type, joinable ? 1 : 0, &seen, nil)
                } else {
                    rc = withUnsafePointer(to: events) { fl_queue_put_now(q, payload.baseAddress, UInt32(len), type, joinable ? 1 : 0, &seen, $0) }
                }
                checked(rc)
                if rc & FL_QUEUE_DONE != 0 { return }
            } else if tracedPut(payload, type: type, joinable: joinable, began: began, seen: &seen) {
                // After a recorded waitBegin: the waitEnd goes before the send.
                return
            }
            guard case .none = patience else {
                if !began { began = Tracer.waitBegin(.queuePut, id) }
                if wait(1, seen, until: patience.deadline) { continue }
                Tracer.waitEnd(began, .queuePut, id, .timedOut)
                throw ChannelError(.full, "\(label): full until the timeout")
            }
            throw ChannelError(.full, "\(label): full")
        }
    }

    /// A one-call put's or get's result: a recovered lock is marked, a cut trace reported, a
    /// failed lock is our bug.
    @inline(__always)
    func checked(_ rc: Int32) {
        precondition(rc >= 0, "\(label): locking its side failed: \(String(cString: strerror(-rc)))")
        if rc & (FL_QUEUE_RECOVERED | FL_QUEUE_TRACE_CUT) != 0 { unusual(rc) }
    }

    func unusual(_ rc: Int32) {
        if rc & FL_QUEUE_RECOVERED != 0 { Tracer.mark("queue: recovered the lock of a process that died holding it") }
        if rc & FL_QUEUE_TRACE_CUT != 0 { Tracer.reportFailure() }
    }

    /// What a traced put or get records (queue.c's `fl_queue_put_now`, `fl_queue_get_now`).
    let events: fl_queue_events

    /// A traced put: the send event is reserved under the putters' lock and committed by the
    /// write just before the item is published. False when there was no room (`seen` then set).
    func tracedPut(_ payload: UnsafeRawBufferPointer, type: UInt32, joinable: Bool, began: Bool, seen: inout UInt32) -> Bool {
        let len = payload.count
        lock(.put)
        guard fl_queue_has_room(q, UInt32(len)) != 0 else {
            seen = fl_queue_seen(q, 1)
            unlock(.put)
            return false
        }
        Tracer.waitEnd(began, .queuePut, id, .done)
        let pending = Tracer.reserveWords(.send, id, UInt64(len), 0, 0)
        fl_queue_write(q, payload.baseAddress, UInt32(len), type, pending == nil ? 0 : Tracer.processID,
                       pending?.seq ?? 0, joinable ? 1 : 0, pending?.pointer)
        fl_queue_fault(2)
        if fl_queue_unlock(q, Side.put.rawValue) != 0 { fl_queue_wake(q, 0, 0) }
        return true
    }

    /// Gets one message, waiting as `patience` allows: its payload goes into `small` when it
    /// fits (the returned array is then nil), else into a new array.
    @usableFromInline
    func get(_ patience: Patience, joinable: Bool, into small: UnsafeMutableRawBufferPointer) throws(ChannelError) -> (count: Int, type: UInt32, big: [UInt8]?) {
        try usable("get")
        var began = false
        while true {
            var item = fl_queue_item()
            let rc: Int32
            if !began {
                // One call into queue.c (traced: the recv recorded in it) unless the item is
                // larger than `small` (FL_QUEUE_LOCKED: taken below).
                if fl_trace_enabled() == 0 {
                    rc = fl_queue_get_now(q, small.baseAddress, UInt32(small.count), joinable ? 1 : 0, &item, nil)
                } else {
                    rc = withUnsafePointer(to: events) { fl_queue_get_now(q, small.baseAddress, UInt32(small.count), joinable ? 1 : 0, &item, $0) }
                }
                checked(rc)
                if rc & FL_QUEUE_DONE != 0 { return (Int(item.len), item.type, nil) }
            } else {
                // After a recorded waitBegin: the waitEnd goes before the recv.
                lock(.get)
                rc = fl_queue_peek(q, &item.len, &item.type, &item.puid, &item.seq) != 0 ? FL_QUEUE_LOCKED : 0
                if rc == 0 {
                    item.seen = fl_queue_seen(q, 0)
                    unlock(.get)
                }
            }
            if rc & FL_QUEUE_LOCKED != 0 { return takeLocked(item, joinable: joinable, began: began, into: small) }
            guard case .none = patience else {
                if !began { began = Tracer.waitBegin(.queueGet, id) }
                if wait(0, item.seen, until: patience.deadline) { continue }
                Tracer.waitEnd(began, .queueGet, id, .timedOut)
                throw ChannelError(.empty, "\(label): empty until the timeout")
            }
            throw ChannelError(.empty, "\(label): empty")
        }
    }

    /// Under the getters' lock, `item` the oldest record: takes it (into `small` when it fits,
    /// else a new array), records its recv, unlocks.
    func takeLocked(_ item: fl_queue_item, joinable: Bool, began: Bool, into small: UnsafeMutableRawBufferPointer) -> (count: Int, type: UInt32, big: [UInt8]?) {
        let len = item.len
        var big: [UInt8]? = nil
        if Int(len) <= small.count {
            fl_queue_take(q, small.baseAddress, len, joinable ? 1 : 0)
        } else {
            big = [UInt8](unsafeUninitializedCapacity: Int(len)) { b, n in
                fl_queue_take(q, b.baseAddress, len, joinable ? 1 : 0)
                n = Int(len)
            }
        }
        Tracer.waitEnd(began, .queueGet, id, .done)
        recordRecv(item.puid, item.seq, UInt64(len))
        fl_queue_fault(3)
        if fl_queue_unlock(q, Side.get.rawValue) != 0 { fl_queue_wake(q, 1, 0) }
        return (Int(len), item.type, big)
    }

    /// The send and recv kinds and argument layouts (`fl_trace_record_words`'s `layout`).
    static let eventKinds = fl_queue_events(send_kind: EventKind.send.rawValue, recv_kind: EventKind.recv.rawValue,
                                            send_layout: WordLayout.packed[Int(EventKind.send.rawValue)],
                                            recv_layout: WordLayout.packed[Int(EventKind.recv.rawValue)], id: 0)

    static func makeEvents(_ id: UInt64) -> fl_queue_events {
        var e = eventKinds
        e.id = id
        return e
    }

    /// Records the recv of a taken item (as `Tracer.recordWords(.recv, ...)` does, in one call
    /// into the recorder: one lock, no in-flight count).
    @inline(__always)
    func recordRecv(_ puid: UInt64, _ seq: UInt64, _ len: UInt64) {
        if fl_trace_record_words(EventKind.recv.rawValue, Self.eventKinds.recv_layout, id, puid, seq, len) < 0 { Tracer.reportFailure() }
    }

    /// Messages in the ring now (under both locks: no put or get is half done).
    var count: Int {
        lock(.get)
        lock(.put)
        defer { unlock(.put); unlock(.get) }
        return Int(fl_queue_count(q))
    }

    /// True when a put of a small message would wait now.
    var isFull: Bool {
        lock(.put)
        defer { unlock(.put) }
        return fl_queue_has_room(q, 0) == 0
    }

    /// Marks one task done (JoinableQueue).
    func taskDone() throws(ChannelError) {
        try usable("mark a task done")
        lock(.get)
        let rc = fl_queue_task_done(q)
        let left = fl_queue_unfinished(q)
        if rc >= 0 { Tracer.recordWords(.queueTaskDone, id, UInt64(left)) }
        unlock(.get)
        if rc < 0 { throw ChannelError(.taskDoneTooOften, "\(label): taskDone() called more times than items were put") }
        if rc == 1 { fl_queue_wake(q, 2, 1) }
    }

    /// Items taken out by a process that died before its get returned them (under the get lock):
    /// how many, and an error naming the last.
    func lost() -> (count: Int, error: ChannelError?) {
        var puid: UInt64 = 0, seq: UInt64 = 0
        let n = Int(fl_queue_lost(q, &puid, &seq))
        guard n > 0 else { return (0, nil) }
        let which = puid == 0 ? "an untraced message" : "message seq \(seq) sent by process \(hex16(puid))"
        return (n, ChannelError(.itemLost, "\(label): \(n == 1 ? "1 item was" : "\(n) items were") lost: a process died inside get() after taking \(n == 1 ? "it" : "them") out, before returning \(n == 1 ? "it" : "them") (the last: \(which)); no taskDone() will come for \(n == 1 ? "it" : "them")"))
    }

    /// Waits until every put item had its taskDone (JoinableQueue); false on timeout. Throws
    /// `itemLost` once that is so when an item was lost (taken by a process that died in get).
    func join(timeout: Duration?) throws(ChannelError) -> Bool {
        try usable("join")
        let deadline = Self.deadline(timeout)
        var began = false
        while true {
            // Both sides: a putter that died inside put is recovered (its unpublished item
            // uncounted) even when nobody puts again.
            lock(.get)
            lock(.put)
            if fl_queue_unfinished(q) <= 0 {
                Tracer.waitEnd(began, .queueJoin, id, .done)
                let (_, lostError) = lost()
                Tracer.record(.queueJoin, [.uint(id)])
                unlock(.put)
                unlock(.get)
                if let lostError { throw lostError }
                return true
            }
            let seen = fl_queue_seq(q, 2)
            unlock(.put)
            unlock(.get)
            if !began { began = Tracer.waitBegin(.queueJoin, id) }
            guard wait(2, seen, until: deadline) else {
                Tracer.waitEnd(began, .queueJoin, id, .timedOut)
                return false
            }
        }
    }

    /// Test hook: takes the locks of `sides` and never gives them back (the caller is then
    /// killed).
    func holdLockForever(_ sides: [Side] = [.get, .put]) { for s in sides { lock(s) } }
}
