import ForklineTrace

/// A value in shared memory with its own ``Lock``: Python's `multiprocessing.Value`.
///
/// ```swift
/// let counter = try SharedValue(0)
/// // in each of several children:
/// counter.withLock { $0 += 1 }
/// ```
public final class SharedValue<T: BitwiseCopyable & Sendable>: Sendable {
    /// The lock that guards the value (``withLock(_:)``, ``load()`` and ``store(_:)`` take it).
    public let lock: Lock
    let segment: SharedSegment

    static var valueOffset: Int { Lock.size }
    static var size: Int { valueOffset + max(MemoryLayout<T>.stride, 8) }
    var pointer: UnsafeMutablePointer<T> { (segment.base + Self.valueOffset).assumingMemoryBound(to: T.self) }

    /// A shared value starting at `initial`.
    public init(_ initial: T) throws(ChannelError) {
        segment = try SharedSegment(size: Self.size, name: "forkline-value")
        lock = try Lock(id: UInt64.random(in: 1...UInt64.max), segment: segment, offset: 0, initialise: true)
        pointer.initialize(to: initial)
    }

    init(segment: SharedSegment, lockID: UInt64) throws(ChannelError) {
        self.segment = segment
        lock = try Lock(id: lockID, segment: segment, offset: 0, initialise: false)
    }

    /// Reads the value, holding the lock.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func load() -> T { lock.withLock { _ in pointer.pointee } }

    /// Writes the value, holding the lock.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func store(_ value: T) { lock.withLock { _ in pointer.pointee = value } }

    /// Runs `body` on the value, holding the lock (a read-modify-write that no other process can
    /// interleave with).
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func withLock<R>(_ body: (inout T) throws -> R) rethrows -> R {
        try lock.withLock { _ in try body(&pointer.pointee) }
    }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [segment.fd] }
}

extension SharedValue: Codable {
    enum CodingKeys: String, CodingKey { case lock, fd }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(lock.id, forKey: .lock)
        try c.encode(segment.fd, forKey: .fd)
    }

    /// Decodes a shared value passed by the parent (its memory is mapped again here).
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let fd = try SharedSegment.local(try c.decode(Int32.self, forKey: .fd))
        try self.init(segment: try SharedSegment(inherited: fd, size: Self.size), lockID: try c.decode(UInt64.self, forKey: .lock))
    }
}
