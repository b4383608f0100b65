import CForkline
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// A lock shared by processes: a robust, process-shared pthread mutex in shared memory.
///
/// If the process holding it dies, the next ``acquire(timeout:)`` gets the lock and is told so
/// (``Acquisition/previousOwnerDied``) instead of waiting forever; the lock is made consistent
/// again, and the caller decides whether the data it protects needs repair.
///
/// Each hold is traced with the lock's generation, a counter in the shared memory that the
/// holder increments: holds are ordered by hand-off, not by clocks, and `replay check` proves
/// that no two processes held the lock at once.
public final class Lock: Sendable {
    /// The result of acquiring.
    public enum Acquisition: Sendable, Equatable {
        /// The lock is yours.
        case acquired
        /// The lock is yours, but its previous holder died holding it.
        case previousOwnerDied
        /// The timeout passed first; the lock is not yours.
        case timedOut
    }

    /// The lock's id in traces.
    public let id: UInt64
    let segment: SharedSegment
    let offset: Int

    static let size = 64  // pthread_mutex_t (40 bytes) + generation
    var mutex: UnsafeMutablePointer<pthread_mutex_t> { (segment.base + offset).assumingMemoryBound(to: pthread_mutex_t.self) }
    var generation: UnsafeMutablePointer<UInt64> { (segment.base + offset + 48).assumingMemoryBound(to: UInt64.self) }

    /// Creates an unlocked lock.
    public convenience init() throws(ChannelError) {
        let id = UInt64.random(in: 1...UInt64.max)
        try self.init(id: id, segment: try SharedSegment(size: Self.size, name: "forkline-lock"), offset: 0, initialise: true)
    }

    init(id: UInt64, segment: SharedSegment, offset: Int, initialise: Bool) throws(ChannelError) {
        self.id = id
        self.segment = segment
        self.offset = offset
        guard initialise else { return }
        try RobustMutex.initialise(mutex, what: "a shared lock")
        generation.pointee = 0
    }

    /// Acquires the lock, waiting up to `timeout` (nil: forever).
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func acquire(timeout: Duration? = nil) -> Acquisition {
        let outcome = RobustMutex.acquireTraced(mutex, timeout: timeout, kind: .lock, id: id, ref: generation.pointee, what: "Lock \(hex16(id))")
        if outcome == .timedOut { return .timedOut }
        let died = outcome == .previousOwnerDied
        generation.pointee &+= 1
        Tracer.recordWords(.lockAcquire, id, generation.pointee, died ? 1 : 0)
        return died ? .previousOwnerDied : .acquired
    }

    /// Releases the lock, which the calling thread must hold.
    ///
    /// - Throws: ``ChannelError`` `notOwner` when this thread does not hold it (never acquired,
    ///   released already, or held by another thread or process): the lock is left as it was.
    ///   Python's `Lock` lets any process release it; a robust mutex, which is what tells the next
    ///   holder that a holder died, belongs to the thread that took it.
    public func release() throws(ChannelError) {
        // A robust mutex checks its owner: EPERM for a thread that does not hold it.
        guard fl_mutex_owned_by_caller(mutex) != 0 else {
            throw ChannelError(.notOwner, "Lock \(hex16(id)) released by a thread that does not hold it")
        }
        releaseHeld()
    }

    /// Releases the lock the calling thread holds (withLock, Condition): failing is a bug here.
    func releaseHeld() {
        Tracer.recordWords(.lockRelease, id, generation.pointee)
        let rc = pthread_mutex_unlock(mutex)
        precondition(rc == 0, "Lock \(hex16(id)): unlock failed: \(String(cString: strerror(rc)))")
    }

    /// Runs `body` holding the lock. If the previous holder died holding it, `body` still runs
    /// (the lock is consistent again) and `previousOwnerDied` is true.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func withLock<R>(_ body: (_ previousOwnerDied: Bool) throws -> R) rethrows -> R {
        let a = acquire()
        defer { releaseHeld() }
        return try body(a == .previousOwnerDied)
    }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [segment.fd] }
}

extension Lock: Codable {
    enum CodingKeys: String, CodingKey { case id, fd }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(segment.fd, forKey: .fd)
    }

    /// Decodes a lock passed by the parent (its shared memory is mapped again here).
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let fd = try SharedSegment.local(try c.decode(Int32.self, forKey: .fd))
        try self.init(id: try c.decode(UInt64.self, forKey: .id), segment: try SharedSegment(inherited: fd, size: Self.size),
                      offset: 0, initialise: false)
    }
}
