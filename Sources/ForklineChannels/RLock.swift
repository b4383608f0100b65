import CForkline
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// A re-entrant lock shared by processes: Python's `multiprocessing.RLock`.
///
/// The thread that holds it may acquire it again; it is free once released as many times as it
/// was acquired. It is a robust, recursive, process-shared pthread mutex: if the holder dies, the
/// next ``acquire(timeout:)`` gets the lock and is told (``Lock/Acquisition/previousOwnerDied``).
///
/// Each acquire and release is traced with the hand-off generation (incremented by the outermost
/// acquire) and the nesting depth, so `replay check` proves that holds of different processes
/// never overlap while nested holds of one holder are not mistaken for overlaps.
public final class RLock: Sendable {
    /// The lock's id in traces.
    public let id: UInt64
    let segment: SharedSegment

    static let size = 64  // pthread_mutex_t (40 bytes), owner tid at 40, generation at 48, depth at 56
    var mutex: UnsafeMutablePointer<pthread_mutex_t> { segment.base.assumingMemoryBound(to: pthread_mutex_t.self) }
    var generation: UnsafeMutablePointer<UInt64> { (segment.base + 48).assumingMemoryBound(to: UInt64.self) }
    /// The holder's thread id (0: free); only the holder writes it, and only "is it me" is asked.
    var owner: UnsafeMutablePointer<Int32> { (segment.base + 40).assumingMemoryBound(to: Int32.self) }
    /// The holder's nesting depth (only the holder touches it).
    var depth: UnsafeMutablePointer<UInt64> { (segment.base + 56).assumingMemoryBound(to: UInt64.self) }

    /// Creates an unlocked re-entrant lock.
    public init() throws(ChannelError) {
        id = UInt64.random(in: 1...UInt64.max)
        segment = try SharedSegment(size: Self.size, name: "forkline-rlock")
        try RobustMutex.initialise(mutex, recursive: true, what: "a shared re-entrant lock")
    }

    init(id: UInt64, segment: SharedSegment) {
        self.id = id
        self.segment = segment
    }

    /// Acquires the lock (again, if this thread holds it), waiting up to `timeout` (nil: forever).
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    @discardableResult
    public func acquire(timeout: Duration? = nil) -> Lock.Acquisition {
        let outcome = RobustMutex.acquireTraced(mutex, timeout: timeout, kind: .rlock, id: id, ref: generation.pointee, what: "RLock \(hex16(id))")
        if outcome == .timedOut { return .timedOut }
        let died = outcome == .previousOwnerDied
        // The holder died at whatever depth: the lock is ours once, the old depth is void.
        if died { depth.pointee = 0 }
        depth.pointee += 1
        if depth.pointee == 1 {
            generation.pointee &+= 1
            owner.pointee = fl_gettid()
        }
        Tracer.recordWords(.rlockAcquire, id, generation.pointee, depth.pointee, died ? 1 : 0)
        return died ? .previousOwnerDied : .acquired
    }

    /// Releases one level of the hold of the calling thread.
    /// - Throws: ``ChannelError/Code/notOwner`` when this thread does not hold the lock.
    public func release() throws(ChannelError) {
        guard depth.pointee > 0, owner.pointee == fl_gettid() else {
            throw ChannelError(.notOwner, "RLock \(hex16(id)) released by a thread that does not hold it")
        }
        depth.pointee -= 1
        if depth.pointee == 0 { owner.pointee = 0 }
        Tracer.recordWords(.rlockRelease, id, generation.pointee, depth.pointee)
        let rc = pthread_mutex_unlock(mutex)
        precondition(rc == 0, "RLock \(hex16(id)): unlock failed: \(String(cString: strerror(rc)))")
    }

    /// Runs `body` holding the lock (re-entrant: `body` may acquire it again). If the previous
    /// holder died holding it, `body` still runs and `previousOwnerDied` is true.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func withLock<R>(_ body: (_ previousOwnerDied: Bool) throws -> R) rethrows -> R {
        let a = acquire()
        defer { try? release() }
        return try body(a == .previousOwnerDied)
    }

    /// The calling thread's nesting depth if it holds the lock, else 0.
    var heldDepth: UInt64 { owner.pointee == fl_gettid() ? depth.pointee : 0 }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [segment.fd] }
}

extension RLock: Codable {
    public func encode(to encoder: Encoder) throws { try SyncCoding.encode(id: id, fd: segment.fd, to: encoder) }

    /// Decodes a re-entrant lock passed by the parent (its shared memory is mapped again here).
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: SyncCoding.Keys.self)
        let fd = try SharedSegment.local(try c.decode(Int32.self, forKey: .fd))
        self.init(id: try c.decode(UInt64.self, forKey: .id), segment: try SharedSegment(inherited: fd, size: Self.size))
    }
}
