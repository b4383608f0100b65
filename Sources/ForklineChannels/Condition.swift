import ForklineTrace

/// A condition variable shared by processes, over a ``Lock`` or an ``RLock``: Python's
/// `multiprocessing.Condition`.
///
/// Hold the lock, then `wait` (which releases it while waiting and takes it back before
/// returning) or `notify`. A notification is a token: `notify(n)` gives at most `n` of the
/// processes waiting at that moment a token, and each woken waiter takes one, so a process that
/// starts waiting after the notification is not woken by it.
///
/// ```swift
/// let items = try Condition()
/// // consumer:  items.withLock { _ in while queueEmpty() { _ = try? items.wait() } ... }
/// // producer:  items.withLock { _ in produce(); try? items.notify() }
/// ```
public final class Condition: Sendable {
    /// The lock a condition is used with.
    public enum Guard: Sendable {
        /// A ``Lock``: `wait` releases it once.
        case lock(Lock)
        /// An ``RLock``: `wait` releases every level this thread holds and takes them back.
        case rlock(RLock)
    }

    /// The condition's id in traces.
    public let id: UInt64
    /// The lock that guards the condition's state.
    public let `guard`: Guard
    let core: SyncCore
    // Fields: 0 pending tokens, 1 state (notifications so far), 2 waiting processes.

    /// A condition over `lock`.
    public convenience init(lock: Lock) throws(ChannelError) { try self.init(guard: .lock(lock)) }
    /// A condition over a re-entrant `lock`.
    public convenience init(lock: RLock) throws(ChannelError) { try self.init(guard: .rlock(lock)) }
    /// A condition over a new ``RLock`` (Python's default).
    public convenience init() throws(ChannelError) { try self.init(guard: .rlock(try RLock())) }

    init(guard g: Guard) throws(ChannelError) {
        id = UInt64.random(in: 1...UInt64.max)
        self.guard = g
        core = try SyncCore(name: "forkline-condition")
    }

    init(id: UInt64, guard g: Guard, core: SyncCore) {
        self.id = id
        self.guard = g
        self.core = core
    }

    /// Acquires the condition's lock.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    @discardableResult
    public func acquire(timeout: Duration? = nil) -> Lock.Acquisition {
        switch self.guard {
        case .lock(let l): l.acquire(timeout: timeout)
        case .rlock(let l): l.acquire(timeout: timeout)
        }
    }

    /// Releases the condition's lock.
    /// - Throws: ``ChannelError/Code/notOwner`` for an `RLock` this thread does not hold.
    public func release() throws(ChannelError) {
        switch self.guard {
        case .lock(let l): try l.release()
        case .rlock(let l): try l.release()
        }
    }

    /// Runs `body` holding the condition's lock.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func withLock<R>(_ body: (_ previousOwnerDied: Bool) throws -> R) rethrows -> R {
        let a = acquire()
        defer { try? release() }
        return try body(a == .previousOwnerDied)
    }

    /// Called holding the lock: an `RLock` must be held by this thread (a `Lock` records no owner).
    func checkHeld(_ what: String) throws(ChannelError) {
        if case .rlock(let l) = self.guard, l.heldDepth == 0 {
            throw ChannelError(.notOwner, "Condition \(hex16(id)): \(what) without holding its lock")
        }
    }

    /// Releases the lock, waits for a notification up to `timeout` (nil: forever), and takes the
    /// lock back (all levels of an `RLock`) before returning, even on timeout.
    /// - Returns: true when notified, false when the timeout passed first.
    /// - Throws: ``ChannelError/Code/notOwner`` when this thread does not hold an `RLock` guard.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(ChannelError) -> Bool {
        try checkHeld("wait")
        let end = deadline(after: timeout)
        core.lock()
        core[2] += 1
        // Release the guard while holding the monitor: a notify (which needs the guard, then the
        // monitor) cannot slip in before this process sleeps.
        var levels: UInt64 = 1
        switch self.guard {
        case .lock(let l): l.releaseHeld()
        case .rlock(let l):
            levels = l.heldDepth
            for _ in 0..<levels { try? l.release() }
        }
        var notified = false
        let began = Tracer.waitBegin(.condition, id, ref: core[1])
        while true {
            let awake = core.sleep(until: end)
            if core[0] > 0 {
                core[0] -= 1
                core[2] -= 1
                notified = true
                break
            }
            if !awake {
                core[2] -= 1
                core[0] = min(core[0], core[2])
                break
            }
        }
        Tracer.waitEnd(began, .condition, id, notified ? .done : .timedOut)
        Tracer.recordWords(.conditionWait, id, core[1], notified ? 1 : 0)
        core.unlock()
        switch self.guard {
        case .lock(let l): _ = l.acquire()
        case .rlock(let l): for _ in 0..<levels { l.acquire() }
        }
        return notified
    }

    /// Waits until `predicate` (called holding the lock) is true, up to `timeout` in all.
    /// - Returns: the predicate's last value.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    public func wait(for predicate: () throws -> Bool, timeout: Duration? = nil) throws -> Bool {
        let end = timeout.map { ContinuousClock.now + $0 }
        while true {
            if try predicate() { return true }
            var remaining: Duration? = nil
            if let end {
                remaining = end - ContinuousClock.now
                if remaining! <= .zero { return try predicate() }
            }
            try wait(timeout: remaining)
        }
    }

    /// Wakes up to `count` of the processes waiting now. Call holding the lock.
    /// - Throws: ``ChannelError/Code/notOwner`` when this thread does not hold an `RLock` guard.
    public func notify(_ count: Int = 1) throws(ChannelError) {
        try checkHeld("notify")
        core.withLock { held in
            let add = min(UInt64(max(0, count)), core[2] - min(core[2], core[0]))
            core[0] += add
            core[1] &+= 1
            Tracer.recordWords(.conditionNotify, id, core[1], add)
            if add > 0 { core.signal(&held, Int32(clamping: add)) }
        }
    }

    /// Wakes every process waiting now. Call holding the lock.
    public func notifyAll() throws(ChannelError) { try notify(Int(Int32.max)) }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``): the condition's and its lock's.
    public var fileDescriptors: [Int32] {
        switch self.guard {
        case .lock(let l): [core.segment.fd] + l.fileDescriptors
        case .rlock(let l): [core.segment.fd] + l.fileDescriptors
        }
    }
}

extension Condition: Codable {
    enum CodingKeys: String, CodingKey { case id, fd, lock, rlock }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(core.segment.fd, forKey: .fd)
        switch self.guard {
        case .lock(let l): try c.encode(l, forKey: .lock)
        case .rlock(let l): try c.encode(l, forKey: .rlock)
        }
    }

    /// Decodes a condition (and its lock) passed by the parent.
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let g: Guard = if let l = try c.decodeIfPresent(Lock.self, forKey: .lock) { .lock(l) } else { .rlock(try c.decode(RLock.self, forKey: .rlock)) }
        self.init(id: try c.decode(UInt64.self, forKey: .id), guard: g, core: try SyncCore(inheritedFD: try c.decode(Int32.self, forKey: .fd)))
    }
}
