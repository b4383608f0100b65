import CForkline
import ForklineTrace
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// The shared heart of ``Semaphore``, ``Event``, ``Condition`` and ``Barrier``: a monitor in
/// shared memory. A robust, process-shared pthread mutex guards a few counters; processes that
/// must wait sleep on a 32-bit futex word (`seq`) that every state change increments, so a
/// wake-up between reading the state and going to sleep is never lost.
///
/// Layout (128 bytes): mutex at 0 (40 bytes), `seq` u32 at 48, `waiters` u32 at 52, eight u64
/// fields from 64. Critical sections are a few stores and one trace record.
struct SyncCore {
    let segment: SharedSegment
    static let size = 128

    var mutex: UnsafeMutablePointer<pthread_mutex_t> { segment.base.assumingMemoryBound(to: pthread_mutex_t.self) }
    var seq: UnsafeMutablePointer<UInt32> { (segment.base + 48).assumingMemoryBound(to: UInt32.self) }
    var waiters: UnsafeMutablePointer<UInt32> { (segment.base + 52).assumingMemoryBound(to: UInt32.self) }
    /// Field `i` (0..<8), a u64 the owning type gives a meaning.
    subscript(i: Int) -> UInt64 {
        get { (segment.base + 64 + 8 * i).load(as: UInt64.self) }
        nonmutating set { (segment.base + 64 + 8 * i).storeBytes(of: newValue, as: UInt64.self) }
    }

    /// A new, zeroed monitor in its own memfd segment of `size` bytes (more than 128: the owning
    /// type keeps its own data after the monitor).
    init(name: String, size: Int = SyncCore.size) throws(ChannelError) {
        segment = try SharedSegment(size: max(size, Self.size), name: name)
        try RobustMutex.initialise(mutex, what: "a shared monitor")
    }

    /// The monitor a parent passed (its descriptor under the parent's number), mapped whole.
    init(inheritedFD parentFD: Int32) throws(ChannelError) {
        let fd = try SharedSegment.local(parentFD)
        var st = stat()
        // The segment's real size (it may hold more than the monitor); an fstat that fails
        // leaves the monitor's own size, which every segment has.
        let size = fstat(fd, &st) == 0 ? max(Int(st.st_size), Self.size) : Self.size
        segment = try SharedSegment(inherited: fd, size: size)
    }

    /// Takes the monitor's mutex. Returns true when a process died inside it (the state may be
    /// half-updated; the mutex is consistent again).
    @discardableResult
    func lock() -> Bool {
        RobustMutex.acquire(mutex, what: "shared monitor") == .previousOwnerDied
    }

    func unlock() { pthread_mutex_unlock(mutex) }

    /// Called holding the mutex: releases it, sleeps until `seq` changes (or `deadline`, a
    /// CLOCK_MONOTONIC time in ns, 0 for none, passes), and takes the mutex again. Returns false
    /// when the deadline passed. A true return may be spurious: callers re-check their state.
    func sleep(until deadline: UInt64, spin: Int = 0, yieldEvery: Int = 0) -> Bool {
        let seen = seq.pointee
        if spin > 0 {
            // Watch the word for a while before sleeping (a cross-CPU wake-up costs 15-60 us on
            // these machines). A spinner is not counted in `waiters`, so a release during the spin
            // makes no futex_wake system call.
            unlock()
            var changed = false
            for i in 0..<spin {
                if UnsafeAtomicLoad.load(seq) != seen { changed = true; break }
                if yieldEvery > 0, i % yieldEvery == yieldEvery - 1 { sched_yield() } else { fl_cpu_relax() }
            }
            lock()
            if changed || seq.pointee != seen { return true }
        }
        waiters.pointee += 1
        unlock()
        var rc: Int32 = 0
        repeat {
            if deadline != 0, fl_monotonic_ns() >= deadline { rc = -ETIMEDOUT; break }
            rc = fl_futex_wait(seq, seen, deadline)
        } while rc == -EINTR
        lock()
        waiters.pointee -= 1
        return rc != -ETIMEDOUT
    }

    /// What a critical section asks for: the sleepers to wake once the mutex is released
    /// (waking under the mutex would send them straight into it, a second sleep).
    struct Held {
        /// A process died holding the mutex before this one took it.
        var ownerDied: Bool
        var wake: Int32 = 0
    }

    /// Runs `body` holding the mutex, then wakes the sleepers it signalled.
    func withLock<R, E: Error>(_ body: (inout Held) throws(E) -> R) throws(E) -> R {
        var held = Held(ownerDied: lock())
        defer {
            unlock()
            if held.wake > 0 { _ = fl_futex_wake(seq, held.wake) }
        }
        return try body(&held)
    }

    /// Called holding the mutex: marks a state change; up to `count` sleepers are woken when
    /// ``withLock(_:)`` releases the mutex.
    func signal(_ held: inout Held, _ count: Int32) {
        seq.pointee &+= 1
        if waiters.pointee > 0 { held.wake = max(held.wake, count) }
    }
}

/// A relaxed load the compiler must not hoist out of a spin loop.
enum UnsafeAtomicLoad {
    @inline(never)
    static func load(_ p: UnsafeMutablePointer<UInt32>) -> UInt32 { p.pointee }
}

/// Turns a timeout into a CLOCK_MONOTONIC deadline in ns (0: none). Timeouts beyond ~30 years
/// are treated as none.
func deadline(after timeout: Duration?) -> UInt64 {
    guard let timeout else { return 0 }
    guard timeout.components.seconds < 1_000_000_000 else { return 0 }
    return (fl_monotonic_ns() &+ timeout.clampedNanoseconds) | 1  // never 0: 0 means no deadline
}

/// Encodes and decodes the synchronisation types: an id and the descriptor of their segment.
enum SyncCoding {
    enum Keys: String, CodingKey { case id, fd }

    static func encode(id: UInt64, fd: Int32, to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(id, forKey: .id)
        try c.encode(fd, forKey: .fd)
    }

    static func decode(from decoder: Decoder) throws -> (id: UInt64, core: SyncCore) {
        let c = try decoder.container(keyedBy: Keys.self)
        return (try c.decode(UInt64.self, forKey: .id), try SyncCore(inheritedFD: try c.decode(Int32.self, forKey: .fd)))
    }
}
