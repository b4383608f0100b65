import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// A fixed number of plain-data values in shared memory, with an optional ``Lock``: Python's
/// `multiprocessing.Array`.
///
/// The elements live in an anonymous segment (nothing in /dev/shm; the kernel frees it with its
/// last user). Pass the array to children with ``ChildOptions/pass(_:)`` and in the entry point's
/// arguments. As Python's `Array` (with its default `lock=True`), every subscript and
/// ``elements`` read or write holds the array's lock for that access; hold it with
/// ``withLock(_:)`` for a read-modify-write that must not interleave (`totals[3] += 1` is two
/// accesses). An array made with `lock: false` (Python's `RawArray`) takes no lock: its accesses
/// are unsynchronised, and ordering them across threads and processes is the caller's job.
///
/// ```swift
/// let totals = try SharedArray<Int>(repeating: 0, count: 4)
/// // in child i:
/// totals[i] = work(i)
/// totals.withLock { $0[3] += 1 }
/// ```
public final class SharedArray<T: BitwiseCopyable & Sendable>: @unchecked Sendable {
    // @unchecked: the elements are in MAP_SHARED memory that other threads and processes change.
    // With a lock (the default) every access through this type holds it, so none races. Without
    // one (`lock: false`, the caller's explicit choice, as Python's RawArray) accesses are plain
    // loads and stores that the caller must order, as with `withUnsafeMutableBufferPointer`.
    /// The number of elements.
    public let count: Int
    /// The lock guarding the elements, when the array was made with one.
    public let lock: Lock?
    let segment: SharedSegment

    static var elementsOffset: Int { Lock.size }
    static func size(_ count: Int) -> Int { elementsOffset + max(count * MemoryLayout<T>.stride, 8) }
    var base: UnsafeMutablePointer<T> { (segment.base + Self.elementsOffset).bindMemory(to: T.self, capacity: count) }

    /// An array of `count` copies of `value`, with a lock unless `lock` is false.
    ///
    /// - Throws: ``ChannelError`` when shared memory cannot be had.
    public convenience init(repeating value: T, count: Int, lock: Bool = true) throws(ChannelError) {
        try self.init(count: count, lock: lock) { $0.initialize(repeating: value, count: count) }
    }

    /// An array holding `elements`, with a lock unless `lock` is false.
    public convenience init(_ elements: [T], lock: Bool = true) throws(ChannelError) {
        try self.init(count: elements.count, lock: lock) { p in
            elements.withUnsafeBufferPointer { b in if let from = b.baseAddress { p.initialize(from: from, count: b.count) } }
        }
    }

    init(count: Int, lock: Bool, fill: (UnsafeMutablePointer<T>) -> Void) throws(ChannelError) {
        precondition(count >= 0, "a SharedArray cannot have a negative count")
        self.count = count
        segment = try SharedSegment(size: Self.size(count), name: "forkline-array")
        self.lock = lock ? try Lock(id: UInt64.random(in: 1...UInt64.max), segment: segment, offset: 0, initialise: true) : nil
        fill(base)
    }

    init(segment: SharedSegment, count: Int, lockID: UInt64?) throws(ChannelError) {
        self.segment = segment
        self.count = count
        lock = try lockID.map { id throws(ChannelError) in try Lock(id: id, segment: segment, offset: 0, initialise: false) }
    }

    /// The element at `index`, read or written holding the array's lock (none for `lock: false`).
    public subscript(index: Int) -> T {
        get {
            precondition(index >= 0 && index < count, "SharedArray index \(index) out of range 0..<\(count)")
            return locked { base[index] }
        }
        set {
            precondition(index >= 0 && index < count, "SharedArray index \(index) out of range 0..<\(count)")
            locked { base[index] = newValue }
        }
    }

    /// A copy of the elements now, taken holding the array's lock (none for `lock: false`).
    public var elements: [T] { locked { Array(UnsafeBufferPointer(start: base, count: count)) } }

    /// Runs `body` holding the lock, if the array has one.
    func locked<R>(_ body: () -> R) -> R {
        guard let lock else { return body() }
        _ = lock.acquire()
        defer { lock.releaseHeld() }
        return body()
    }

    /// Runs `body` over the elements in place (no lock taken).
    public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<T>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: base, count: count))
    }

    /// Runs `body` over the elements holding the array's lock, so no other process interleaves.
    /// Inside `body` use the buffer it is given: the array's own subscripts would wait for the
    /// lock `body` holds.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func withLock<R>(_ body: (inout UnsafeMutableBufferPointer<T>) throws -> R) rethrows -> R {
        guard let lock else { preconditionFailure("this SharedArray was made without a lock (lock: false)") }
        return try lock.withLock { _ in
            var buffer = UnsafeMutableBufferPointer(start: base, count: count)
            return try body(&buffer)
        }
    }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [segment.fd] }
}

extension SharedArray: Codable, PassableToChild {
    enum CodingKeys: String, CodingKey { case count, lock, fd }

    /// Encodes the array for a child's arguments.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(count, forKey: .count)
        try c.encodeIfPresent(lock?.id, forKey: .lock)
        try c.encode(segment.fd, forKey: .fd)
    }

    /// Decodes an array passed by the parent (its memory is mapped again here).
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let count = try c.decode(Int.self, forKey: .count)
        let fd = try SharedSegment.local(try c.decode(Int32.self, forKey: .fd))
        try self.init(segment: try SharedSegment(inherited: fd, size: Self.size(count)), count: count,
                      lockID: try c.decodeIfPresent(UInt64.self, forKey: .lock))
    }
}
