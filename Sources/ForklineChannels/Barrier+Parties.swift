import CForkline

#if canImport(Glibc)
import Glibc
#endif

/// How a barrier knows that a party waiting in it died: each waiting party holds a robust,
/// process-shared mutex of its own (a *party slot*) for as long as it is inside `wait`. The
/// kernel marks a robust mutex whose holding thread ends, however it ends (SIGKILL included), so
/// a `trylock` of a slot tells a live waiter (`EBUSY`) from a dead one (`EOWNERDEAD`) without
/// pids, which could be reused, and sees a killed child as dead even while it is an unreaped
/// zombie.
///
/// The slots follow the barrier's monitor in its segment: `2 * (parties - 1)` of 64 bytes, a
/// mutex and a tag (the round it is held for, plus one; 0 free). A round's waiters take slots in
/// one half (the round's parity, at their arrival index), so waiters of the round just passed can
/// still be leaving through the other half. Slots are taken, checked and given back only under
/// the monitor.
extension Barrier {
    static let slotSize = 64

    /// The segment bytes a barrier of `parties` needs.
    static func segmentSize(parties: Int) -> Int { SyncCore.size + slotCount(parties: parties) * slotSize }

    static func slotCount(parties: Int) -> Int { 2 * max(0, parties - 1) }

    var slotCount: Int { min(Self.slotCount(parties: parties), (core.segment.size - SyncCore.size) / Self.slotSize) }

    func slotMutex(_ i: Int) -> UnsafeMutablePointer<pthread_mutex_t> {
        (core.segment.base + SyncCore.size + i * Self.slotSize).assumingMemoryBound(to: pthread_mutex_t.self)
    }

    func slotTag(_ i: Int) -> UnsafeMutablePointer<UInt64> {
        (core.segment.base + SyncCore.size + i * Self.slotSize + 48).assumingMemoryBound(to: UInt64.self)
    }

    /// Initialises every slot's mutex (a new barrier).
    func initialiseSlots() throws(ChannelError) {
        for i in 0..<slotCount { try RobustMutex.initialise(slotMutex(i), what: "a barrier party slot") }
    }

    /// What taking a slot found.
    enum Claim {
        /// This thread holds slot `i` for the round.
        case held(Int)
        /// A party of this round died waiting (its slot was found while looking for a free one).
        case partyDied
        /// Every slot is busy (more processes wait than `parties` allows for): arrive untracked.
        case none
    }

    /// Called holding the monitor: takes a free slot for `round`, first the one at `index` in
    /// the round's half.
    func claimSlot(round: UInt64, index: UInt64) -> Claim {
        let n = slotCount
        guard n > 0 else { return .none }
        let hint = Int(round % 2) * (n / 2) + Int(index) % max(1, n / 2)
        for k in 0..<n {
            let i = (hint + k) % n
            let rc = pthread_mutex_trylock(slotMutex(i))
            if rc == EBUSY { continue }
            if rc == EOWNERDEAD {
                pthread_mutex_consistent(slotMutex(i))
                if slotTag(i).pointee == round + 1 {
                    // A party of this very round died in it: free the slot, and say so.
                    releaseSlot(i)
                    return .partyDied
                }
                // A party of an earlier round died after that round passed: the slot is free.
            } else if rc != 0 {
                continue
            }
            slotTag(i).pointee = round + 1
            return .held(i)
        }
        return .none
    }

    /// Called holding the monitor, by the thread that claimed it: gives slot `i` back.
    func releaseSlot(_ i: Int) {
        slotTag(i).pointee = 0
        pthread_mutex_unlock(slotMutex(i))
    }

    /// Called holding the monitor: the number of parties of `round` that died while they waited
    /// (their slots are freed).
    func deadWaiters(round: UInt64) -> Int {
        var dead = 0
        for i in 0..<slotCount where slotTag(i).pointee == round + 1 {
            let rc = pthread_mutex_trylock(slotMutex(i))
            if rc == EBUSY { continue }
            if rc == EOWNERDEAD {
                pthread_mutex_consistent(slotMutex(i))
                dead += 1
            }
            if rc == 0 || rc == EOWNERDEAD {
                slotTag(i).pointee = 0
                pthread_mutex_unlock(slotMutex(i))
            }
        }
        return dead
    }
}
