import CForkline
import ForklineTrace
import ForklineSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A barrier shared by processes: Python's `multiprocessing.Barrier`.
///
/// Each of `parties` processes calls ``wait(timeout:)``; all of them return once the last one
/// arrives, each with a distinct arrival index (0 for the first), and the barrier is ready for
/// the next round. A timeout, ``abort()``, ``reset()`` while parties wait, or a process dying
/// inside the barrier's critical section breaks it: every waiting party and every later `wait`
/// throws ``ChannelError/Code/brokenBarrier`` until ``reset()``.
///
/// A party SIGKILLed while it waits (or while it arrives) breaks the barrier: the last party to
/// arrive checks that every party of the round is still alive (each waiter holds a robust
/// mutex of its own, which the kernel marks when its holder dies), so the round never passes
/// with a dead party counted. A party killed after its round passed breaks nothing. A party
/// killed before it arrives cannot be told from a slow one: give `wait` a timeout (which breaks
/// the barrier for everyone), or have the parent ``abort()`` it when it sees a child die.
///
/// An `action` (Python's `Barrier(parties, action, timeout)`) runs once per round, in the last
/// party to arrive, after every party arrived and before any leaves; if it throws, the barrier
/// breaks (see ``Barrier+Action.swift``). A default `timeout` is used by every `wait` that
/// gives none.
///
/// Arrivals and passes are traced with the barrier's round (`barrierArrive`, `barrierPass`,
/// `barrierBroken`), so `replay check` proves that no party left a round before all arrived.
public final class Barrier: Sendable {
    /// The barrier's id in traces.
    public let id: UInt64
    let core: SyncCore
    // Fields: 0 round, 1 arrived this round, 2 broken (0/1), 3 parties,
    // 4 one bit per round modulo 64: set when that round ended broken (read by late waiters),
    // 5 mid-change: set while a holder changes the state, cleared before it lets go.
    // 6 the default timeout in ns plus one (0: none), 7 one when the barrier has an action.
    // After the monitor: one party slot per possible waiter (Barrier+Parties.swift).

    /// Why a barrier broke, as `barrierBroken` records it.
    enum Reason: UInt64 { case observed = 0, timeout, abort, reset, partyDied, actionFailed }

    /// This process's copy of the action (nil: none here; field 7 says whether the barrier has one).
    let action: (@Sendable () throws -> Void)?
    /// Set in the barrier that created the action: its end removes the action from ``actions``.
    let registeredAction: Bool

    /// A barrier for `parties` processes (Python's `Barrier(parties, action, timeout)`).
    ///
    /// - Parameters:
    ///   - parties: how many processes each round waits for.
    ///   - action: run once per round by the last party to arrive, after all arrived and before
    ///     any leaves. If it throws, the barrier breaks: the other parties get
    ///     ``ChannelError/Code/brokenBarrier``, and so does the party that ran it, with the
    ///     action's error in the message. The closure lives in this process and in fork children;
    ///     a barrier decoded in a spawn or forkserver child gets it with ``withAction(_:)``.
    ///   - timeout: the timeout of every ``wait(timeout:)`` that gives none (nil: wait forever).
    /// - Throws: ``ChannelError/Code/invalidArgument`` when `parties` is not in 1...65535 or
    ///   `timeout` is negative.
    public init(parties: Int, action: (@Sendable () throws -> Void)? = nil, timeout: Duration? = nil) throws(ChannelError) {
        guard parties >= 1, parties <= 65535 else {
            throw ChannelError(.invalidArgument, "a barrier needs 1...65535 parties, not \(parties)")
        }
        if let timeout, timeout < .zero {
            throw ChannelError(.invalidArgument, "Barrier(timeout: \(timeout)): a timeout cannot be negative")
        }
        id = UInt64.random(in: 1...UInt64.max)
        core = try SyncCore(name: "forkline-barrier", size: Barrier.segmentSize(parties: parties))
        self.action = action
        registeredAction = action != nil
        if let action { Barrier.actions.withLock { $0[id] = action } }
        core[3] = UInt64(parties)
        core[6] = timeout.map { min($0.clampedNanoseconds, UInt64.max - 1) + 1 } ?? 0
        core[7] = action == nil ? 0 : 1
        try initialiseSlots()
    }

    init(id: UInt64, core: SyncCore, action: (@Sendable () throws -> Void)? = nil) {
        self.id = id
        self.core = core
        self.action = action
        registeredAction = false
    }

    deinit {
        if registeredAction { Barrier.actions.withLock { _ = $0.removeValue(forKey: id) } }
    }

    /// The timeout a ``wait(timeout:)`` without one uses (nil: none), shared by every process.
    public var timeout: Duration? {
        let t = core[6]
        return t == 0 ? nil : .nanoseconds(Int64(clamping: t - 1))
    }

    /// The number of processes the barrier waits for.
    public var parties: Int { Int(core[3]) }

    /// The processes waiting in the current round now (a snapshot; a party that died waiting
    /// counts until the round ends).
    public var waiting: Int {
        core.withLock { held in
            recoverFromDeadHolder(&held)
            return Int(core[1])
        }
    }

    /// True while the barrier is broken.
    public var isBroken: Bool {
        core.withLock { held in
            recoverFromDeadHolder(&held)
            return core[2] == 1
        }
    }

    /// Called holding the monitor: breaks the current round and wakes every waiter.
    func breakRound(_ reason: Reason, _ held: inout SyncCore.Held) {
        core[2] = 1
        Tracer.recordWords(.barrierBroken, id, core[0], reason.rawValue)
        core.signal(&held, Int32.max)
    }

    /// Runs `body` holding the monitor, after ``recoverFromDeadHolder(_:)``.
    func locked<R>(_ body: (inout SyncCore.Held) throws(ChannelError) -> R) throws(ChannelError) -> R {
        try core.withLock { (held) throws(ChannelError) in
            recoverFromDeadHolder(&held)
            return try body(&held)
        }
    }

    /// Called on taking the monitor: a holder that died mid-change (field 5 still set: a live
    /// holder clears it before it lets go) left the state half-done, or was a party arriving:
    /// that breaks the barrier. A holder that died with nothing half-done (a party leaving a
    /// round that passed, a reader) breaks nothing. The mark outlives the mutex's own
    /// EOWNERDEAD notice, which goes to whichever process locks first, even a reader.
    func recoverFromDeadHolder(_ held: inout SyncCore.Held) {
        guard core[5] == 1 else { return }
        core[5] = 0
        if core[2] == 0 { breakRound(.partyDied, &held) }
    }

    func broken(_ round: UInt64, _ why: String) -> ChannelError {
        Tracer.recordWords(.barrierBroken, id, round, Reason.observed.rawValue)
        return ChannelError(.brokenBarrier, "Barrier \(hex16(id)) is broken (round \(round)): \(why)")
    }

    /// Arrives at the barrier and waits, up to `timeout` (nil: the barrier's default
    /// ``timeout``, or forever without one), for the other parties. The last party to arrive
    /// runs the barrier's action, if any, before the round passes.
    /// - Returns: this party's arrival index in the round, 0 for the first.
    /// - Throws: ``ChannelError/Code/brokenBarrier`` when the barrier is or becomes broken; a
    ///   timeout breaks it for every party, and so does a party that died while it waited (found
    ///   when the last party arrives, or by an arriving party that comes upon its slot), and an
    ///   action that throws (the party that ran it gets the action's error in the message).
    @available(*, noasync, message: "blocking; call from a thread that may block, or use a child process")
    @discardableResult
    public func wait(timeout: Duration? = nil) throws(ChannelError) -> Int {
        let end = deadline(after: timeout ?? self.timeout)
        return try locked { (held) throws(ChannelError) -> Int in
            let round = core[0]
            if core[2] == 1 { throw broken(round, "it broke before this party arrived; reset() it to use it again") }
            let parties = core[3]
            let index = core[1]
            let bit: UInt64 = 1 << (round % 64)
            // Mid-change until this party sleeps or has passed the round: its death in between
            // breaks the barrier (the next holder finds the mark).
            core[5] = 1
            if index + 1 == parties {
                core[1] = parties
                Tracer.recordWords(.barrierArrive, id, round, index, parties)
                let dead = deadWaiters(round: round)
                if dead > 0 {
                    core[5] = 0
                    breakRound(.partyDied, &held)
                    throw broken(round, "\(dead == 1 ? "a party" : "\(dead) parties") died while waiting in it")
                }
                if core[7] == 1 {
                    // Still mid-change: a death inside the action leaves the round broken.
                    if let why = runAction() {
                        core[5] = 0
                        breakRound(.actionFailed, &held)
                        throw broken(round, why)
                    }
                }
                core[0] = round + 1
                core[1] = 0
                core[4] &= ~bit
                core[5] = 0
                Tracer.recordWords(.barrierPass, id, round, parties)
                core.signal(&held, Int32.max)
                return Int(index)
            }
            let claim = claimSlot(round: round, index: index)
            if case .partyDied = claim {
                core[5] = 0
                breakRound(.partyDied, &held)
                throw broken(round, "a party died while waiting in it")
            }
            let slot: Int? = if case .held(let i) = claim { i } else { nil }
            defer { if let slot { releaseSlot(slot) } }
            core[1] = index + 1
            Tracer.recordWords(.barrierArrive, id, round, index, parties)
            if Barrier.faultPoint.load(ordering: .relaxed) == FaultPoint.whileArriving.rawValue { fl_queue_die() }
            core[5] = 0
            let began = Tracer.waitBegin(.barrier, id, ref: round)
            var passed = false
            defer { Tracer.waitEnd(began, .barrier, id, passed ? .done : .failed) }
            while true {
                let awake = core.sleep(until: end)
                recoverFromDeadHolder(&held)
                if core[0] != round {
                    if core[4] & bit != 0 { throw broken(round, "it was reset while this party waited") }
                    passed = true
                    Tracer.recordWords(.barrierPass, id, round, parties)
                    if Barrier.faultPoint.load(ordering: .relaxed) == FaultPoint.afterRelease.rawValue { fl_queue_die() }
                    return Int(index)
                }
                if core[2] == 1 { throw broken(round, "another party timed out, it was aborted, a party died, or its action threw") }
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
        core.withLock { held in
            recoverFromDeadHolder(&held)
            if core[2] == 0 { breakRound(.abort, &held) }
        }
    }

    /// Returns the barrier to its empty state; parties waiting now throw
    /// ``ChannelError/Code/brokenBarrier``.
    public func reset() {
        core.withLock { held in
            recoverFromDeadHolder(&held)
            guard core[1] > 0 || core[2] == 1 else { return }
            let round = core[0]
            if core[2] == 0 { Tracer.recordWords(.barrierBroken, id, round, Reason.reset.rawValue) }
            core[5] = 1  // a death before the last store leaves the barrier broken, not half reset
            core[4] |= 1 << (round % 64)
            core[0] = round + 1
            core[1] = 0
            core[2] = 0
            core[5] = 0
            core.signal(&held, Int32.max)
        }
    }

    /// Where ``dieInside(_:)`` kills the calling process (a test hook).
    package enum FaultPoint: Int32 {
        /// In `wait`, after this party saw its round pass, before it left the barrier.
        case afterRelease = 1
        /// In `wait`, holding the barrier's monitor while it arrives (counted, not yet asleep).
        case whileArriving = 2
    }

    static let faultPoint = Atomic<Int32>(0)

    /// Test hook: this process SIGKILLs itself when a `wait` reaches `point`.
    package func dieInside(_ point: FaultPoint) { Barrier.faultPoint.store(point.rawValue, ordering: .relaxed) }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { [core.segment.fd] }
}

extension Barrier: Codable {
    public func encode(to encoder: Encoder) throws { try SyncCoding.encode(id: id, fd: core.segment.fd, to: encoder) }

    /// Decodes a barrier passed by the parent (its shared memory is mapped again here).
    public convenience init(from decoder: Decoder) throws {
        let (id, core) = try SyncCoding.decode(from: decoder)
        // A fork child has the creator's memory: its action is found by the barrier's id.
        self.init(id: id, core: core, action: Barrier.actions.withLock { $0[id] })
    }
}

extension Semaphore: PassableToChild {}
extension BoundedSemaphore: PassableToChild {}
extension RLock: PassableToChild {}
extension Event: PassableToChild {}
extension Condition: PassableToChild {}
extension Barrier: PassableToChild {}
