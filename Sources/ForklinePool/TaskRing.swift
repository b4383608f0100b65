import CForkline
import ForklineChannels
import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// The pool's messages to one local worker (`run` batches, `stop`), in shared memory: the
/// mirror of its ``ReplyRing``. The driver appends one record per message with no system call
/// and wakes the worker (a futex on the ring's asleep flag) only when the worker said it sleeps;
/// the worker takes records in order and sleeps on the flag only when the ring is empty. So
/// while a worker is busy, tasks reach it without a system call on either side.
///
/// A record: kind (u8: 0 a message, 1 a marker saying the next message comes over the
/// connection, for messages larger than ``largest``), the sender's trace puid and `send`
/// sequence number (0 when tracing is off), then the ``WorkerMessage`` bytes, exactly what the
/// connection used to carry. A record the ring has no room for now waits in the driver's
/// backlog, in order (the scheduler's `windowBytes` keeps a worker's tasks well inside the ring,
/// so that is rare).
///
/// A worker asleep on the ring looks at its connection each time it wakes with nothing to take
/// and at least every ``idleLookNs``: its end of file (the pool gone, or the driver closing its
/// end, which wakes it first) ends the worker as the blocking read of the connection did.
final class TaskRing: @unchecked Sendable {
    // @unchecked: `base` is shared memory with one producer (the driver thread) and one consumer
    // (the worker process); the positions are atomics in the C header, the bytes are published by them.
    static let capacity = 2 << 20
    static let recordHeader = 1 + 8 + 8
    /// Larger messages go over the connection (after a marker): a 256 KiB task fits.
    static let largest = 512 << 10
    static let mappedSize = Int(FL_RING_HEADER) + capacity
    /// How long a worker sleeps on an empty ring before it looks at its connection (ns).
    static let idleLookNs: UInt64 = 100_000_000

    let fd: Int32
    let base: UnsafeMutableRawPointer
    let cap = UInt64(TaskRing.capacity)
    /// The worker's read position (the worker's side only).
    var readAt: UInt64 = 0
    /// Records built but not yet in the ring, oldest first, each with the first task it carries
    /// (the driver's side only).
    var backlog: [(record: [UInt8], firstTask: UInt64?)] = []
    /// For each record in the ring the worker may not have taken yet: the first task it carries
    /// and the position after it (the driver's side only): what ``taken(_:)`` reads.
    var placed: [(firstTask: UInt64?, end: UInt64)] = []
    /// Where the worker copies each record out (its side only): one buffer, no fresh pages.
    var scratch: [UInt8] = []

    /// Creates a zero-filled ring (the driver, before starting the worker).
    init() throws(PoolError) {
        (fd, base) = try ReplyRing.create("forkline-pool-tasks", TaskRing.mappedSize, what: "task ring")
    }

    /// Maps the ring the driver passed (the worker; `fd` under this process's number).
    init(inherited fd: Int32) throws(PoolError) {
        base = try ReplyRing.mapInherited(fd, TaskRing.mappedSize, what: "task ring")
        self.fd = fd
    }

    /// Closes the descriptor (the mapping stays): the driver's, once the worker has started.
    func closeDescriptor() { _ = Glibc.close(fd) }

    deinit { munmap(base, TaskRing.mappedSize) }

    // MARK: the driver's side

    /// Builds `message`'s record in `scratch` (with its `send` event when tracing, as the
    /// connection would record it) and appends it, or keeps it in the backlog when the ring has
    /// no room. False when the message is too large for the ring: the caller sends it over the
    /// connection, and a marker record stands in its place here.
    func post(_ message: WorkerMessage, channel: UInt64, scratch: inout [UInt8]) -> Bool {
        let size = message.encodedSize
        guard size + TaskRing.recordHeader <= TaskRing.largest else {
            TaskRing.header(kind: 1, puid: 0, seq: 0, into: &scratch)
            append(scratch, firstTask: message.firstTask)
            return false
        }
        let pending = Tracer.reserveWords(.send, channel, UInt64(size))
        pending?.commit()
        let puid = pending == nil ? 0 : Tracer.processID, seq = pending?.seq ?? 0
        if backlog.isEmpty, case .run(let jobs) = message, size >= TaskRing.writeInPlace,
           putInPlace(jobs, size: size, puid: puid, seq: seq, scratch: &scratch) {
            return true
        }
        message.encode(room: TaskRing.recordHeader, into: &scratch)
        TaskRing.stamp(kind: 0, puid: puid, seq: seq, &scratch)
        append(scratch, firstTask: message.firstTask)
        return true
    }

    /// A `run` message at least this large (bytes) is written into the ring in place
    /// (``putInPlace(_:size:puid:seq:scratch:)``); smaller ones are built in a buffer first.
    static let writeInPlace = 16 << 10

    /// Writes the record of `run(jobs)` (`size` bytes after its header) straight into the ring:
    /// the heads from `scratch`, each payload from the job's own bytes, so a task's input is
    /// copied once on the driver's side (the profile of 256 KiB `[UInt8]` tasks had it copied
    /// into its chunk, into the message, then into the ring). False when the ring has no room
    /// now (nothing written): the caller builds the record for the backlog.
    func putInPlace(_ jobs: [WorkerMessage.Job], size: Int, puid: UInt64, seq: UInt64, scratch: inout [UInt8]) -> Bool {
        let length = UInt32(TaskRing.recordHeader + size)
        let start = fl_ring_reserve(base, cap, length)
        guard start != UInt64.max else { return false }
        var at = start
        var w = ByteWriter()
        swap(&w.out, &scratch)
        defer { swap(&w.out, &scratch) }
        w.out.removeAll(keepingCapacity: true)
        func flush() {
            w.out.withUnsafeBytes { fl_ring_copy_in(base, cap, at, $0.baseAddress, UInt64($0.count)) }
            at += UInt64(w.out.count)
            w.out.removeAll(keepingCapacity: true)
        }
        w.u8(0)
        w.u64(puid)
        w.u64(seq)
        w.u8(1)
        w.u32(UInt32(jobs.count))
        for j in jobs {
            w.u64(j.task)
            w.string(j.function)
            w.u32(UInt32(j.chunkSize))
            if j.rawBytes { ScalarChunks.oneArrayHead(count: j.payload.count, into: &w) }
            flush()
            j.payload.withUnsafeBytes { fl_ring_copy_in(base, cap, at, $0.baseAddress, UInt64($0.count)) }
            at += UInt64(j.payload.count)
        }
        flush()
        precondition(at == start + UInt64(length), "task ring: a record written in place is not the size it said")
        fl_ring_publish(base, at)
        notePlaced(jobs.first?.task)
        return true
    }

    /// Puts `record` in the ring after the backlog, or at the backlog's end.
    func append(_ record: [UInt8], firstTask: UInt64?) {
        if backlog.isEmpty && put(record, firstTask: firstTask) { return }
        backlog.append((record, firstTask))
    }

    /// Moves what it can of the backlog into the ring; true when it is empty.
    @discardableResult
    func flushBacklog() -> Bool {
        var n = 0
        while n < backlog.count && put(backlog[n].record, firstTask: backlog[n].firstTask) { n += 1 }
        if n > 0 { backlog.removeFirst(n) }
        return backlog.isEmpty
    }

    func put(_ record: [UInt8], firstTask: UInt64?) -> Bool {
        guard record.withUnsafeBytes({ fl_ring_put(base, cap, $0.baseAddress, UInt32($0.count)) }) == 1 else { return false }
        notePlaced(firstTask)
        return true
    }

    /// Notes the record just published, carrying `firstTask`, for ``taken(_:)``.
    func notePlaced(_ firstTask: UInt64?) {
        // Records the worker has taken are forgotten as new ones are placed.
        let consumed = fl_ring_consumed(base)
        var drop = 0
        while drop < placed.count && placed[drop].end <= consumed { drop += 1 }
        if drop > 0 { placed.removeFirst(drop) }
        placed.append((firstTask, fl_ring_written(base)))
    }

    /// The driver, once the worker has ended: false when the record carrying `task` was never
    /// taken by the worker (still in the ring, or never placed there), so the worker never began
    /// it. A task the worker may have read (over the connection after a marker it took, or any
    /// task not carried by a record here) counts as taken.
    func taken(_ task: UInt64) -> Bool {
        if backlog.contains(where: { $0.firstTask == task }) { return false }
        let consumed = fl_ring_consumed(base)
        guard let r = placed.last(where: { $0.firstTask == task }) else { return true }
        return r.end <= consumed
    }

    /// Announces what is in the ring, waking the worker only if it sleeps (its flag raised): a
    /// worker still running costs no system call. True when it woke the worker.
    @discardableResult
    func announce() -> Bool { fl_ring_announce_wake(base) == 1 }

    /// Wakes the worker whatever it was told (before its connection is closed).
    func wake() { fl_ring_wake(base) }

    static func header(kind: UInt8, puid: UInt64, seq: UInt64, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: repeatElement(0, count: recordHeader))
        stamp(kind: kind, puid: puid, seq: seq, &out)
    }

    static func stamp(kind: UInt8, puid: UInt64, seq: UInt64, _ out: inout [UInt8]) {
        out.withUnsafeMutableBytes { b in
            b[0] = kind
            b.storeBytes(of: puid.littleEndian, toByteOffset: 1, as: UInt64.self)
            b.storeBytes(of: seq.littleEndian, toByteOffset: 9, as: UInt64.self)
        }
    }

    // MARK: the worker's side

    /// The next message: from the ring (sleeping while it is empty), or from `connection` after
    /// a marker. Nil when the pool's end of the connection closed. Traced as the connection
    /// would trace its receipt.
    func next(connection: Connection) throws -> WorkerMessage? {
        while true {
            if let message = try take(connection: connection) { return message }
            if fl_ring_sleep(base, readAt, TaskRing.idleLookNs) == 1, fl_ring_written(base) > readAt { continue }
            // Woken with nothing to take, or a while asleep: the pool may have gone.
            if TaskRing.peerClosed(connection) { return nil }
        }
    }

    /// The record at the read position as a message, consumed; nil when there is none.
    func take(connection: Connection) throws -> WorkerMessage? {
        let written = fl_ring_written(base)
        guard written > readAt else { return nil }
        var len: UInt32 = 0
        fl_ring_copy_out(base, cap, readAt, &len, 4)
        guard Int(len) >= TaskRing.recordHeader, Int(len) <= TaskRing.capacity, readAt + 4 + UInt64(len) <= written else {
            throw PoolError(.encoding, "pool worker \(getpid()): a record of its task ring could not be read")
        }
        let count = Int(len)
        // Grown only when a record is larger than any before: not zero-filled again per record.
        if scratch.count < count { scratch.append(contentsOf: repeatElement(0, count: count - scratch.count)) }
        let at = readAt + 4
        scratch.withUnsafeMutableBytes { fl_ring_copy_out(base, cap, at, $0.baseAddress, UInt64(count)) }
        readAt = at + UInt64(len)
        fl_ring_consume(base, readAt)
        let (kind, puid, seq) = scratch.withUnsafeBytes { b in
            (b[0], UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 1, as: UInt64.self)),
             UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 9, as: UInt64.self)))
        }
        if kind == 1 {
            guard let bytes = try connection.receiveBytes() else { return .stop }
            return try TaskRing.decode(bytes[...])
        }
        if Tracer.isEnabled {
            Tracer.recordWords(.recv, connection.channel, puid, seq, UInt64(count - TaskRing.recordHeader))
        }
        return try TaskRing.decode(scratch[TaskRing.recordHeader..<count])
    }

    static func decode(_ bytes: ArraySlice<UInt8>) throws -> WorkerMessage {
        guard let message = WorkerMessage.decode(bytes) else {
            throw PoolError(.encoding, "pool worker \(getpid()): a message from the pool could not be decoded")
        }
        return message
    }

    /// True when the other end of `connection` has closed (end of file) or failed; never blocks.
    static func peerClosed(_ connection: Connection) -> Bool {
        var b: UInt8 = 0
        let fd = connection.fileDescriptors[0]
        // closable: a task may have closed the worker's descriptors (EBADF: gone, as a read said).
        let peeked = withUnsafeMutableBytes(of: &b) { Syscall.receive(fd, into: $0, flags: Int32(MSG_PEEK | MSG_DONTWAIT), closable: true) }
        switch peeked {
        case .success(let n): return n == 0
        case .failure(let e): return e.rawValue != EAGAIN && e.rawValue != EINTR
        }
    }
}
