import ForklineTrace

/// A counting semaphore shared by processes: Python's `multiprocessing.Semaphore`.
///
/// `acquire` takes one unit, waiting while there is none; `release` gives one back (from any
/// process). Each operation is numbered by a ticket kept in the semaphore's shared memory and
/// traced with the value it left (`semAcquire` / `semRelease`), so `replay check` proves that
/// holds never exceeded the capacity, by the order of hand-offs, not by clocks.
///
/// ```swift
/// let slots = try Semaphore(value: 2)     // at most two processes inside at once
/// // in each child:
/// slots.withAcquired { useTheSharedResource() }
/// ```
public final class Semaphore: Sendable {
    /// The semaphore's id in traces.
    public let id: UInt64
    let core: SyncCore
    // Fields: 0 value, 1 ticket (operations so far), 2 initial value, 3 bounded (0/1).

    /// Iterations a waiting `acquire` watches the semaphore before it sleeps (0: sleep at once),
    /// and how often it yields the CPU meanwhile (0: never). A hand-off that arrives during the
    /// spin costs no futex wake-up (1-4 us round trips instead of 6-13 us when each process has a
    /// CPU); yielding keeps the spin from starving the releasing process when the CPUs are
    /// oversubscribed. Measured in `Tools/bench/LockBench.swift` (docs/benchmarks.md).
    nonisolated(unsafe) package static var spin = 2000
    nonisolated(unsafe) package static var spinYieldEvery = 32

    /// A semaphore holding `value` units.
    /// - Throws: ``ChannelError/Code/invalidArgument`` when `value` is negative or above 2^31.
    public convenience init(value: Int = 1) throws(ChannelError) {
        try self.init(value: value, bounded: false)
    }

    init(value: Int, bounded: Bool) throws(ChannelError) {
        guard value >= 0, value <= Int(Int32.max) else {
            throw ChannelError(.invalidArgument, "a semaphore's value must be in 0...\(Int32.max), not \(value)")
        }
        id = UInt64.random(in: 1...UInt64.max)
        core = try SyncCore(name: "forkline-semaphore")
        core[0] = UInt64(value)
        core[2] = UInt64(value)
        core[3] = bounded ? 1 : 0
    }

    init(id: UInt64, core: SyncCore) {
        self.id = id
        self.core = core
    }

    /// The initial value (the capacity of a `BoundedSemaphore`).
    public var initialValue: Int { Int(core[2]) }

    /// The units available now (a snapshot: other processes may change it at once).
    public var value: Int {
        core.lock()
        defer { core.unlock() }
        return Int(core[0])
    }

    /// Takes one unit, waiting up to `timeout` (nil: forever) while there is none.
    /// - Returns: false when the timeout passed first (nothing was taken).
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    @discardableResult
    public func acquire(timeout: Duration? = nil) -> Bool {
        let end = deadline(after: timeout)
        core.lock()
        defer { core.unlock() }
        var began = false
        while core[0] == 0 {
            if !began { began = Tracer.waitBegin(.semaphore, id, ref: core[1]) }
            if !core.sleep(until: end, spin: Self.spin, yieldEvery: Self.spinYieldEvery), core[0] == 0 {
                Tracer.waitEnd(began, .semaphore, id, .timedOut)
                return false
            }
        }
        Tracer.waitEnd(began, .semaphore, id, .done)
        core[0] -= 1
        core[1] &+= 1
        Tracer.recordWords(.semAcquire, id, core[1], core[0], core[2])
        return true
    }

    /// Takes one unit if one is available now, without waiting.
    public func tryAcquire() -> Bool {
        core.lock()
        defer { core.unlock() }
        guard core[0] > 0 else { return false }
        core[0] -= 1
        core[1] &+= 1
        Tracer.recordWords(.semAcquire, id, core[1], core[0], core[2])
        return true
    }

    /// Gives one unit back and wakes one waiting process.
    /// - Throws: ``ChannelError/Code/overReleased`` for a `BoundedSemaphore` already at its
    ///   initial value (nothing changes).
    public func release() throws(ChannelError) {
        try core.withLock { (held) throws(ChannelError) in
        if core[3] == 1, core[0] >= core[2] {
            throw ChannelError(.overReleased, "BoundedSemaphore \(hex16(id)) released more times than it was acquired (its value is already \(core[2]))")
        }
        guard core[0] < UInt64(Int32.max) else {
            throw ChannelError(.overReleased, "Semaphore \(hex16(id)) released past its largest value \(Int32.max)")
        }
        core[0] += 1
        core[1] &+= 1
        Tracer.recordWords(.semRelease, id, core[1], core[0], core[2])
        core.signal(&held, 1)
        }
    }

    /// Runs `body` holding one unit (released afterwards, even if `body` throws).
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func withAcquired<R>(_ body: () throws -> R) rethrows -> R {
        acquire()
        defer { try? release() }
        return try body()
    }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [core.segment.fd] }
}

/// A semaphore that cannot be released above its initial value: Python's `BoundedSemaphore`.
/// Releasing it more often than it was acquired throws ``ChannelError/Code/overReleased``
/// instead of silently raising the capacity.
public final class BoundedSemaphore: Sendable {
    let base: Semaphore

    /// A bounded semaphore with capacity `value`.
    /// - Throws: ``ChannelError/Code/invalidArgument`` when `value` is negative or above 2^31.
    public init(value: Int = 1) throws(ChannelError) {
        base = try Semaphore(value: value, bounded: true)
    }

    init(base: Semaphore) { self.base = base }

    /// The semaphore's id in traces.
    public var id: UInt64 { base.id }
    /// The capacity.
    public var initialValue: Int { base.initialValue }
    /// The units available now (a snapshot).
    public var value: Int { base.value }

    /// Takes one unit, waiting up to `timeout` (nil: forever). Returns false on timeout.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    @discardableResult
    public func acquire(timeout: Duration? = nil) -> Bool { base.acquire(timeout: timeout) }

    /// Takes one unit if one is available now.
    public func tryAcquire() -> Bool { base.tryAcquire() }

    /// Gives one unit back.
    /// - Throws: ``ChannelError/Code/overReleased`` when the value is already the capacity.
    public func release() throws(ChannelError) { try base.release() }

    /// Runs `body` holding one unit.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func withAcquired<R>(_ body: () throws -> R) rethrows -> R { try base.withAcquired(body) }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { base.fileDescriptors }
}

extension Semaphore: Codable {
    public func encode(to encoder: Encoder) throws { try SyncCoding.encode(id: id, fd: core.segment.fd, to: encoder) }

    /// Decodes a semaphore passed by the parent (its shared memory is mapped again here).
    public convenience init(from decoder: Decoder) throws {
        let (id, core) = try SyncCoding.decode(from: decoder)
        self.init(id: id, core: core)
    }
}

extension BoundedSemaphore: Codable {
    public func encode(to encoder: Encoder) throws { try base.encode(to: encoder) }

    /// Decodes a bounded semaphore passed by the parent.
    public convenience init(from decoder: Decoder) throws { self.init(base: try Semaphore(from: decoder)) }
}
