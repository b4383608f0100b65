import CForkline
import Dispatch
import Glibc
@testable import ForklinePool
import Testing

/// The driver's announcement of new tasks costs a futex wake only when the worker sleeps on its
/// task ring: a worker still running (its flag down) is not woken, one asleep is woken once.
@Suite("Pool: task ring wakes only a sleeping worker")
struct TaskRingWakeTests {
    /// The worker's sleeping flag (the ring header's third cache line, ring.c's layout).
    static func sleeping(_ base: UInt) -> UInt32 {
        UnsafeMutableRawPointer(bitPattern: base)!.load(fromByteOffset: 128, as: UInt32.self)
    }

    @Test("announcing to an awake worker wakes nothing; to a sleeping one, one wake that ends its sleep")
    func wakesOnlySleeper() throws {
        let ring = try TaskRing()
        defer { ring.closeDescriptor() }
        #expect(!ring.announce(), "nobody sleeps: no wake")
        #expect(!ring.announce(), "still nobody: no wake")
        let base = UInt(bitPattern: ring.base)
        let woke = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var slept: Int32 = -1
        DispatchQueue.global().async {
            // A worker with nothing to take (read position 0, nothing announced): sleeps up to
            // 120 s, far past any wait below, so only the announcement ends it.
            slept = fl_ring_sleep(UnsafeMutableRawPointer(bitPattern: base)!, 0, 120_000_000_000)
            woke.signal()
        }
        // Until the sleeper raised its flag (no bound on how long the loaded machine takes).
        while Self.sleeping(base) == 0 { usleep(1_000) }
        #expect(ring.announce(), "the sleeper is woken")
        woke.wait()
        #expect(slept == 1, "woken, not timed out")
        #expect(Self.sleeping(base) == 0)
        #expect(!ring.announce(), "awake again: no wake")
    }
}
