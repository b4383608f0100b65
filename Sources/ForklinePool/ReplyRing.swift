import CForkline

#if canImport(Glibc)
import Glibc
#endif

/// A worker's replies to the pool, in shared memory (`memfd_create`, no name to leak): the worker
/// appends one record per task with no system call, and the driver drains the ring when it is
/// awake or when the worker wakes it (``PoolWorker`` wakes it only when it has done as much of
/// its batch as it has left, or all of it). Replies a worker published survive its death, so the
/// driver drains the ring before it handles the end: the first task still outstanding is exactly
/// the one the worker was running.
///
/// A record: kind (u8: 0 a reply, 1 a marker saying the next reply comes over the connection,
/// for replies too large for the ring), the sender's trace puid and `send` sequence number (0
/// when tracing is off), the worker's clock when the task ended (ns), then the
/// ``WorkerMessage/reply(_:_:)`` bytes, exactly the payload the connection used to carry.
final class ReplyRing: @unchecked Sendable {
    // @unchecked: `base` is shared memory with one producer (the worker process) and one consumer
    // (the driver thread); the positions are atomics in the C header, the bytes are published by them.
    static let capacity = 1 << 20
    static let recordHeader = 1 + 8 + 8 + 8
    /// Larger records go over the connection (after a marker), so one reply never fills the
    /// ring; a 256 KiB `[UInt8]` reply fits (the connection's path costs the driver a read per
    /// 64 KiB and a copy more).
    static let largest = capacity / 2
    /// After the ring: the worker's crash report (``CrashReport``), filled by the crash writer.
    static let crashArea = 1024
    /// The whole mapping: header, ring, crash report.
    static let mappedSize = Int(FL_RING_HEADER) + capacity + crashArea

    let fd: Int32
    let base: UnsafeMutableRawPointer
    let cap = UInt64(ReplyRing.capacity)
    var size: Int { ReplyRing.mappedSize }
    /// Set in the worker while its crash report area is registered with the crash writer.
    var reportsCrashes = false
    /// The driver's read position (the driver's side only).
    var readAt: UInt64 = 0

    /// Creates a zero-filled ring (the driver, before starting the worker).
    init() throws(PoolError) {
        (fd, base) = try ReplyRing.create("forkline-pool-replies", ReplyRing.mappedSize, what: "reply ring")
    }

    /// A new zero-filled shared mapping of `size` bytes and its memfd, passed to a worker (its
    /// reply ring, its cancel board); `what` names it in the error.
    static func create(_ name: String, _ size: Int, what: String) throws(PoolError) -> (Int32, UnsafeMutableRawPointer) {
        let fd = fl_memfd(name, size)
        guard fd >= 0 else {
            throw PoolError(.systemCallFailed, "creating a pool worker's \(what): memfd_create failed: \(String(cString: strerror(-fd)))")
        }
        guard let base = ReplyRing.map(fd, size) else {
            let err = errno
            _ = Glibc.close(fd)
            throw PoolError(.systemCallFailed, "mapping a pool worker's \(what): mmap failed: \(String(cString: strerror(err)))")
        }
        return (fd, base)
    }

    /// Maps the ring the driver passed (the worker; `fd` under this process's number).
    init(inherited fd: Int32) throws(PoolError) {
        base = try ReplyRing.mapInherited(fd, ReplyRing.mappedSize, what: "reply ring")
        self.fd = fd
    }

    /// Maps the shared mapping of `size` bytes the driver passed (a worker's reply ring, task
    /// ring or cancel board: `fd` under this process's number); `what` names it in the error.
    static func mapInherited(_ fd: Int32, _ size: Int, what: String) throws(PoolError) -> UnsafeMutableRawPointer {
        guard let base = map(fd, size) else {
            throw PoolError(.systemCallFailed, "pool worker \(getpid()): descriptor \(fd) is not the \(what) its pool passed")
        }
        return base
    }

    static func map(_ fd: Int32, _ size: Int) -> UnsafeMutableRawPointer? {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        return p == MAP_FAILED ? nil : p
    }

    /// Closes the descriptor (the mapping stays): the driver's, once the worker has started.
    func closeDescriptor() { _ = Glibc.close(fd) }

    deinit {
        if reportsCrashes { fl_crash_set_report_area(nil, 0) }
        munmap(base, size)
    }

    var crashAreaBase: UnsafeMutableRawPointer { base + Int(FL_RING_HEADER) + ReplyRing.capacity }

    /// The worker: has the crash writer report a crash of this process in the ring's crash area,
    /// where the driver finds it whether or not tracing is on.
    func registerCrashReports() {
        // The unwinder is loaded when tracing starts; untraced, the crash writer needs it too
        // (a fork worker has it from its pool's process already: PoolDriver.init).
        _ = fl_unwind_load()
        fl_crash_set_report_area(crashAreaBase, ReplyRing.crashArea)
        reportsCrashes = true
    }

    /// The driver, once the worker has died: what its crash writer reported, if it ran.
    func crashReport() -> CrashReport? {
        let a = crashAreaBase
        guard a.load(as: UInt32.self) == 1 else { return nil }
        let count = a.loadUnaligned(fromByteOffset: 12, as: UInt16.self)
        var frames: [UInt64]?
        if count != 0xFFFF {
            let n = min(Int(count), (ReplyRing.crashArea - Int(FL_CRASH_REPORT_HEADER)) / 8)
            frames = (0..<n).map { a.loadUnaligned(fromByteOffset: Int(FL_CRASH_REPORT_HEADER) + 8 * $0, as: UInt64.self) }
        }
        return CrashReport(signal: a.loadUnaligned(fromByteOffset: 4, as: Int32.self),
                           code: a.loadUnaligned(fromByteOffset: 8, as: Int32.self),
                           address: a.loadUnaligned(fromByteOffset: 16, as: UInt64.self),
                           pc: a.loadUnaligned(fromByteOffset: 24, as: UInt64.self), frames: frames)
    }

    // MARK: the worker's side

    /// Appends a record; false when the ring has no room for it now.
    func put(_ record: [UInt8]) -> Bool {
        record.withUnsafeBytes { fl_ring_put(base, cap, $0.baseAddress, UInt32($0.count)) } == 1
    }

    /// Announces what is written; true (once) when the driver said it sleeps: the caller must wake it.
    func announce() -> Bool { fl_ring_announce(base) == 1 }

    /// True when the driver has consumed every record.
    var isDrained: Bool { fl_ring_consumed(base) == fl_ring_written(base) }

    // MARK: the driver's side

    /// One published record, or nil when there is none.
    struct Record {
        var marker: Bool
        var senderPuid: UInt64
        var sendSeq: UInt64
        var endNs: UInt64
        /// The reply it carries (nil for a marker, or when the bytes are not a reply).
        var reply: (task: UInt64, reply: TaskReply)?
        /// The reply's size in bytes (its ``WorkerMessage`` form), as its `send` recorded it.
        var size: Int
        /// The position after it, for ``consume(to:)``.
        var next: UInt64
    }

    /// The record at the read position, if one is published (not consumed yet). A reply's
    /// bytes are copied out of the ring once, into the reply's own array.
    func peek() -> Record? {
        let written = fl_ring_written(base)
        guard written > readAt else { return nil }
        var len: UInt32 = 0
        fl_ring_copy_out(base, cap, readAt, &len, 4)
        guard Int(len) >= ReplyRing.recordHeader, Int(len) <= ReplyRing.capacity else { return nil }
        var kind: UInt8 = 0
        var puid: UInt64 = 0, seq: UInt64 = 0, endNs: UInt64 = 0
        let at = readAt + 4
        fl_ring_copy_out(base, cap, at, &kind, 1)
        fl_ring_copy_out(base, cap, at + 1, &puid, 8)
        fl_ring_copy_out(base, cap, at + 9, &seq, 8)
        fl_ring_copy_out(base, cap, at + 17, &endNs, 8)
        let size = Int(len) - ReplyRing.recordHeader
        let message = at + UInt64(ReplyRing.recordHeader)
        var record = Record(marker: kind == 1, senderPuid: UInt64(littleEndian: puid), sendSeq: UInt64(littleEndian: seq),
                            endNs: UInt64(littleEndian: endNs), reply: nil, size: size, next: at + UInt64(len))
        guard !record.marker else { return record }
        // A reply of values (the common case): its 14-byte head, then its bytes straight into place.
        if size >= 14 {
            var tag: UInt8 = 0, task: UInt64 = 0, k: UInt8 = 0, n: UInt32 = 0
            fl_ring_copy_out(base, cap, message, &tag, 1)
            fl_ring_copy_out(base, cap, message + 1, &task, 8)
            fl_ring_copy_out(base, cap, message + 9, &k, 1)
            fl_ring_copy_out(base, cap, message + 10, &n, 4)
            let count = Int(UInt32(littleEndian: n))
            if tag == 4, k == 0, count == size - 14, count >= ScalarChunks.oneArrayHead,
               let one = oneArray(at: message + 14, chunkSize: count) {
                // A chunk of one `[UInt8]`: its bytes straight into the caller's array.
                let bytes = [UInt8](unsafeUninitializedCapacity: one) { b, got in
                    if let p = b.baseAddress, one > 0 {
                        fl_ring_copy_out_fresh(base, cap, message + 14 + UInt64(ScalarChunks.oneArrayHead), p, UInt64(one))
                    }
                    got = one
                }
                record.reply = (UInt64(littleEndian: task), .valueBytes(bytes))
                return record
            }
            if tag == 4, k == 0, count == ScalarChunks.oneWordChunk, count == size - 14 {
                // A chunk of one scalar (chunksize 1's commonest reply): its two words,
                // no array.
                var chunkTag: UInt8 = 0, items: UInt32 = 0, bits: UInt64 = 0
                fl_ring_copy_out(base, cap, message + 14, &chunkTag, 1)
                fl_ring_copy_out(base, cap, message + 15, &items, 4)
                fl_ring_copy_out(base, cap, message + 19, &bits, 8)
                if UInt32(littleEndian: items) == 1, ScalarChunks.isWordTag(chunkTag) {
                    record.reply = (UInt64(littleEndian: task), .valueWord(tag: chunkTag, bits: UInt64(littleEndian: bits)))
                    return record
                }
            }
            if tag == 4, k <= 1, count == size - 14 {
                let bytes = [UInt8](unsafeUninitializedCapacity: count) { b, got in
                    if let p = b.baseAddress, count > 0 { fl_ring_copy_out_fresh(base, cap, message + 14, p, UInt64(count)) }
                    got = count
                }
                record.reply = (UInt64(littleEndian: task), k == 0 ? .values(bytes) : .mixed(bytes))
                return record
            }
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { b, count in
            if let p = b.baseAddress, size > 0 { fl_ring_copy_out(base, cap, message, p, UInt64(size)) }
            count = size
        }
        record.reply = ReplyRing.decodeReply(bytes[...])
        return record
    }

    /// The length of the one array when the chunk at `at` (of `chunkSize` bytes) is a chunk of
    /// one `[UInt8]` (``ScalarChunks/oneArrayHead``); nil otherwise.
    func oneArray(at: UInt64, chunkSize: Int) -> Int? {
        var tag: UInt8 = 0, items: UInt32 = 0, length: UInt32 = 0
        fl_ring_copy_out(base, cap, at, &tag, 1)
        guard tag == ScalarChunks.bytesTag else { return nil }
        fl_ring_copy_out(base, cap, at + 1, &items, 4)
        fl_ring_copy_out(base, cap, at + 5, &length, 4)
        let n = Int(UInt32(littleEndian: length))
        guard UInt32(littleEndian: items) == 1, n == chunkSize - ScalarChunks.oneArrayHead else { return nil }
        return n
    }

    /// A reply's task and outcome from its ``WorkerMessage`` bytes; nil when they are not a reply.
    static func decodeReply(_ message: ArraySlice<UInt8>) -> (task: UInt64, reply: TaskReply)? {
        guard case .reply(let task, let reply)? = WorkerMessage.decode(message) else { return nil }
        return (task, reply)
    }

    /// Gives the bytes up to `to` back to the worker.
    func consume(to: UInt64) {
        readAt = to
        fl_ring_consume(base, to)
    }

    /// True when the worker announced records the driver has not read: the driver must not
    /// sleep (records published after the announcement come with a wake-up if it sleeps).
    var hasAnnouncedUnread: Bool { fl_ring_announced(base) > readAt }

    /// The driver is about to sleep (true) or awake (false).
    func setSleeping(_ on: Bool) { fl_ring_set_sleeping(base, on ? 1 : 0) }

    /// Builds a record: its header, then `message` encoded after it in the same buffer.
    static func record(marker: Bool, puid: UInt64, seq: UInt64, endNs: UInt64, message: WorkerMessage?) -> [UInt8] {
        var out: [UInt8] = []
        record(marker: marker, puid: puid, seq: seq, endNs: endNs, message: message, into: &out)
        return out
    }

    /// ``record(marker:puid:seq:endNs:message:)`` into `out`, keeping its storage.
    static func record(marker: Bool, puid: UInt64, seq: UInt64, endNs: UInt64, message: WorkerMessage?, into out: inout [UInt8]) {
        if let message { message.encode(room: recordHeader, into: &out) } else {
            out.removeAll(keepingCapacity: true)
            out.append(contentsOf: repeatElement(0, count: recordHeader))
        }
        out.withUnsafeMutableBytes { b in
            b[0] = marker ? 1 : 0
            b.storeBytes(of: puid.littleEndian, toByteOffset: 1, as: UInt64.self)
            b.storeBytes(of: seq.littleEndian, toByteOffset: 9, as: UInt64.self)
            b.storeBytes(of: endNs.littleEndian, toByteOffset: 17, as: UInt64.self)
        }
    }
}

/// A worker's crash as its crash writer reported it (``ReplyRing/crashReport()``).
struct CrashReport: Sendable, Hashable {
    var signal: Int32
    /// `si_code`: how the signal came (a fault, or sent by a process: SI_USER, SI_TKILL).
    var code: Int32
    /// The fault address (`si_addr`).
    var address: UInt64
    var pc: UInt64
    /// Return addresses, innermost first; nil when no backtrace could be taken.
    var frames: [UInt64]?
}
