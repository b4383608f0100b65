import Foundation
import ForklineTestSupport
import ForklineTrace
import Testing

/// Signals to a parent that runs children and a pool: nothing it started may outlive it.
@Suite("A parent with children and a pool is killed or interrupted")
struct PoolFaultTests {
    /// Starts `forkline-fixture under-fire METHOD`; returns it with the pids it printed (8
    /// children, then the pool's 2 workers).
    static func startUnderFire(_ method: StartMethod) throws -> (Process, [Int32]) {
        try TestSupport.startPrintingPids(TestSupport.executable("forkline-fixture"), ["under-fire", method.description])
    }

    /// Waits for the process to end (SIGKILLed after `seconds`, which fails the test).
    static func ended(_ p: Process, within seconds: Double) -> Bool {
        for _ in 0..<Int(seconds * 100) where p.isRunning { usleep(10_000) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            return false
        }
        return true
    }

    @Test("the parent SIGKILLed with 8 children and a busy pool: within a second no child or worker is alive",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func parentKilled(method: StartMethod) throws {
        let (p, pids) = try Self.startUnderFire(method)
        #expect(pids.count == 10, "8 children and 2 workers: \(pids)")
        #expect(pids.allSatisfy(TestSupport.isRunning))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let alive = TestSupport.survivors(pids, within: 1)
        #expect(alive.isEmpty, "alive a second after their parent was killed: \(alive)")
    }

    @Test("SIGINT or SIGTERM to the parent during a pool map: it ends at once, and its children and workers with it",
          arguments: [SIGINT, SIGTERM], [StartMethod.fork, .spawn, .forkserver])
    func parentInterrupted(signal: Int32, method: StartMethod) throws {
        let (p, pids) = try Self.startUnderFire(method)
        #expect(pids.count == 10, "8 children and 2 workers: \(pids)")
        kill(p.processIdentifier, signal)
        // Promptly: the map's tasks sleep for a minute; the parent must not wait for them.
        #expect(Self.ended(p, within: 5), "the parent is still running 5 s after signal \(signal)")
        #expect(p.terminationReason == .uncaughtSignal && p.terminationStatus == signal,
                "ended by the signal (the default action), status \(p.terminationStatus)")
        let alive = TestSupport.survivors(pids, within: 1)
        #expect(alive.isEmpty, "alive a second after their parent ended: \(alive)")
    }
}
