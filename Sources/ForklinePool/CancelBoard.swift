import CForkline

#if canImport(Glibc)
import Glibc
#endif

/// The tasks a worker must not run: with ``PoolCancellation/abandon``, a task whose caller was
/// cancelled after the worker took it (prefetched behind the one it runs) is dropped by the
/// worker instead of run. One page of shared memory (`memfd_create`) per worker: a count, then
/// a ring of task ids the driver appends to (one producer: the driver's thread); the worker
/// reads the count once per task (an acquire load; no system call) and the new ids only when it
/// moved.
///
/// A worker that fell more than ``slots`` ids behind misses the oldest: those tasks run, and
/// their results are dropped as before (nothing is lost or hung; they only cost time).
final class CancelBoard: @unchecked Sendable {
    // @unchecked: `base` is shared memory with one writer (the driver thread) and one reader
    // (the worker); the count is published with release/acquire, the ids before it.
    static let size = 4096
    static let slots = (size - 64) / 8

    let fd: Int32
    let base: UnsafeMutableRawPointer
    /// The worker's side: ids read so far.
    var seen: UInt64 = 0
    /// The worker's side: dropped tasks it has not met yet.
    var pending: Set<UInt64> = []

    var count: UnsafeMutablePointer<UInt64> { base.assumingMemoryBound(to: UInt64.self) }
    func slot(_ i: UInt64) -> UnsafeMutablePointer<UInt64> {
        (base + 64 + Int(i % UInt64(Self.slots)) * 8).assumingMemoryBound(to: UInt64.self)
    }

    /// A new, empty board (the driver, before starting the worker).
    init() throws(PoolError) {
        (fd, base) = try ReplyRing.create("forkline-pool-cancels", Self.size, what: "cancel board")
    }

    /// Maps the board the driver passed (the worker; `fd` under this process's number).
    init(inherited fd: Int32) throws(PoolError) {
        base = try ReplyRing.mapInherited(fd, Self.size, what: "cancel board")
        self.fd = fd
    }

    deinit { munmap(base, Self.size) }

    /// Closes the descriptor (the mapping stays): the driver's, once the worker has started.
    func closeDescriptor() { _ = Glibc.close(fd) }

    /// The driver: tells the worker to drop `task` when it comes to it.
    func post(_ task: UInt64) {
        let n = count.pointee
        slot(n).pointee = task
        fl_atomic_store_release_u64(count, n + 1)
    }

    /// The worker, before it begins `task`: true when the driver said to drop it.
    func isDropped(_ task: UInt64) -> Bool {
        let n = fl_atomic_load_acquire_u64(count)
        if n != seen {
            var i = n - seen > UInt64(Self.slots) ? n - UInt64(Self.slots) : seen
            while i < n {
                pending.insert(slot(i).pointee)
                i += 1
            }
            seen = n
        }
        guard !pending.isEmpty else { return false }
        return pending.remove(task) != nil
    }
}
