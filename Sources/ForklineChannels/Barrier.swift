import ForklineTrace

/// A barrier shared by processes: Python's `multiprocessing.Barrier`.
///
/// Each of `parties` processes calls ``wait(timeout:)``; all of them return once the last one
/// arrives, each with a distinct arrival index (0 for the first), and the barrier is ready for
/// the next round. A timeout, ``abort()``, ``reset()`` while parties wait, or a process dying
/// inside the barrier's critical section breaks it: every waiting party and every later `wait`
/// throws ``ChannelError/Code/brokenBarrier`` until ``reset()``.
///
/// A party killed before it arrives cannot be told from a slow one: give `wait` a timeout (which
/// breaks the barrier for everyone), or have the parent ``abort()`` it when it sees a child die.
///
/// Arrivals and passes are traced with the barrier's round (`barrierArrive`, `barrierPass`,
/// `barrierBroken`), so `replay check` proves that no party left a round before all arrived.
public final class Barrier: Sendable {
    /// The barrier's id in traces.
    public let id: UInt64
    let core: SyncCore
    // Fields: 0 round, 1 arrived this round, 2 broken (0/1), 3 parties,
    // 4 one bit per round modulo 64: set when that round ended broken (read by late waiters).

    /// Why a barrier broke, as `barrierBroken` records it.
    enum Reason: UInt64 { case observed = 0, timeout, abort, reset, partyDied }

    /// A barrier for `parties` processes.
    /// - Throws: ``ChannelError/Code/invalidArgument`` when `parties` is not in 1...65535.
    public init(parties: Int) throws(ChannelError) {
        guard parties >= 1, parties <= 65535 else {
            throw ChannelError(.invalidArgument, "a barrier needs 1...65535 parties, not \(parties)")
        }
        id = UInt64.random(in: 1...UInt64.max)
        core = try SyncCore(name: "forkline-barrier")
        core[3] = UInt64(parties)
    }

    init(id: UInt64, core: SyncCore) {
        self.id = id
        self.core = core
    }

    /// The number of processes the barrier waits for.
    public var parties: Int { Int(core[3]) }

    /// The processes waiting in the current round now (a snapshot).
    public var waiting: Int {
        core.lock()
        defer { core.unlock() }
        return Int(core[1])
    }

    /// True while the barrier is broken.
    public var isBroken: Bool {
        core.lock()
        defer { core.unlock() }
        return core[2] == 1
    }

    /// Called holding the monitor: breaks the current round and wakes every waiter.
    func breakRound(_ reason: Reason, _ held: inout SyncCore.Held) {
        core[2] = 1
        Tracer.recordWords(.barrierBroken, id, core[0], reason.rawValue)
        core.signal(&held, Int32.max)
    }

    /// Runs `body` holding the monitor; a process that died inside it broke the barrier.
    func locked<R>(_ body: (inout SyncCore.Held) throws(ChannelError) -> R) throws(ChannelError) -> R {
        try core.withLock { (held) throws(ChannelError) in
            if held.ownerDied, core[2] == 0 { breakRound(.partyDied, &held) }
            return try body(&held)
        }
    }

    func broken(_ round: UInt64, _ why: String) -> ChannelError {
        Tracer.recordWords(.barrierBroken, id, round, Reason.observed.rawValue)
        return ChannelError(.brokenBarrier, "Barrier \(hex16(id)) is broken (round \(round)): \(why)")
    }

    /// Arrives at the barrier and waits, up to `timeout` (nil: forever), for the other parties.
    /// - Returns: this party's arrival index in the round, 0 for the first.
    /// - Throws: ``ChannelError/Code/brokenBarrier`` when the barrier is or becomes broken; a
    ///   timeout breaks it for every party.
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(ChannelError) -> Int {
        let end = deadline(after: timeout)
        return try locked { (held) throws(ChannelError) -> Int in
            let round = core[0]
            if core[2] == 1 { throw broken(round, "it broke before this party arrived; reset() it to use it again") }
            let index = core[1]
            core[1] += 1
            let parties = core[3]
            Tracer.recordWords(.barrierArrive, id, round, index, parties)
            let bit: UInt64 = 1 << (round % 64)
            if core[1] == parties {
                core[0] = round + 1
                core[1] = 0
                core[4] &= ~bit
                Tracer.recordWords(.barrierPass, id, round, parties)
                core.signal(&held, Int32.max)
                return Int(index)
            }
            while true {
                let awake = core.sleep(until: end)
                if core[0] != round {
                    if core[4] & bit != 0 { throw broken(round, "it was reset while this party waited") }
                    Tracer.recordWords(.barrierPass, id, round, parties)
                    return Int(index)
                }
                if core[2] == 1 { throw broken(round, "another party timed out, it was aborted, or a party died") }
                if !awake {
                    breakRound(.timeout, &held)
                    throw ChannelError(.brokenBarrier, "Barrier \(hex16(id)): timed out waiting for \(parties - core[1]) more of \(parties) parties; the barrier is now broken")
                }
            }
        }
    }

    /// Breaks the barrier: every waiting party and every later `wait` throws
    /// ``ChannelError/Code/brokenBarrier`` until ``reset()``.
    public func abort() {
        core.withLock { held in if core[2] == 0 { breakRound(held.ownerDied ? .partyDied : .abort, &held) } }
    }

    /// Returns the barrier to its empty state; parties waiting now throw
    /// ``ChannelError/Code/brokenBarrier``.
    public func reset() {
        core.withLock { held in
            guard core[1] > 0 || core[2] == 1 else { return }
            let round = core[0]
            if core[2] == 0 { Tracer.recordWords(.barrierBroken, id, round, Reason.reset.rawValue) }
            core[4] |= 1 << (round % 64)
            core[0] = round + 1
            core[1] = 0
            core[2] = 0
            core.signal(&held, Int32.max)
        }
    }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [core.segment.fd] }
}

extension Barrier: Codable {
    public func encode(to encoder: Encoder) throws { try SyncCoding.encode(id: id, fd: core.segment.fd, to: encoder) }

    /// Decodes a barrier passed by the parent (its shared memory is mapped again here).
    public convenience init(from decoder: Decoder) throws {
        let (id, core) = try SyncCoding.decode(from: decoder)
        self.init(id: id, core: core)
    }
}

extension Semaphore: PassableToChild {}
extension BoundedSemaphore: PassableToChild {}
extension RLock: PassableToChild {}
extension Event: PassableToChild {}
extension Condition: PassableToChild {}
extension Barrier: PassableToChild {}
