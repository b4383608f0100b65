import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Shared values and process-shared locks")
struct SharedMemoryTests {
    static let methods: [StartMethod] = [.fork, .spawn, .forkserver]

    /// The entries of /dev/shm, less the named segments (`forkline-<pid>-...`) of processes still
    /// running: tests run in parallel, and another test's live segment is not a leak; a segment
    /// whose creator has ended is. CPython's multiprocessing semaphores (`sem.mp-...`) are never
    /// Forkline's: another program on the machine (a CPython benchmark) makes and removes them.
    static func shmEntries() -> Set<String> {
        let all = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
        return Set(all.filter { name in
            if name.hasPrefix("sem.mp-") { return false }
            let parts = name.split(separator: "-")
            guard parts.count == 3, parts[0] == "forkline", let pid = Int32(parts[1]) else { return true }
            return !TestSupport.isRunning(pid)
        })
    }

    @Test("four processes add 1,000 each to a SharedValue under its lock: the total is exact, holds never overlap",
          arguments: methods)
    func sharedCounter(method: StartMethod) throws {
        let shmBefore = Self.shmEntries()
        let (out, dir) = try TestSupport.runFixture(["shared-counter", method.description, "4"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["total 4000"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let acquires = trace.events(.lockAcquire)
        #expect(acquires.count == 4001, "4,000 increments and the final load")
        let generations = Set(acquires.compactMap { $0["generation"]?.uint })
        #expect(generations == Set(1...4001), "one hand-off generation per hold")
        #expect(Self.shmEntries().subtracting(shmBefore).isEmpty, "no segment left in /dev/shm")
    }

    @Test("a lock whose holder is SIGKILLed tells the next acquirer, and works again", arguments: methods)
    func holderKilled(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["lock-holder-killed", method.description])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "child holding", "try while held: timedOut", "status signaled(SIGKILL)",
            "after the kill: previousOwnerDied", "again: acquired",
        ])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let died = trace.events(.lockAcquire).filter { $0["ownerDied"]?.uint == 1 }
        #expect(died.count == 1)
    }
}

@Suite("SharedArray and named shared memory across processes")
struct SharedArrayTests {
    @Test("children fill their slices of a SharedArray and add under its lock: every slot and total is exact",
          arguments: SharedMemoryTests.methods)
    func sharedArray(method: StartMethod) throws {
        let shmBefore = SharedMemoryTests.shmEntries()
        let (out, dir) = try TestSupport.runFixture(["shm-array", method.description, "4"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["slices ok", "totals [2000.0, 3000.0]"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // 4 children x 500 holds of the array's lock, and the parent's one read of the totals
        // (`elements` holds the lock, as Python's Array does for every access).
        let acquires = trace.events(.lockAcquire)
        let root = try #require(trace.processes.first { $0.events.first?["method"]?.uint == UInt64(StartMethod.root.rawValue) })
        #expect(acquires.filter { $0.puid != root.header.puid }.count == 2000, "4 children x 500 holds of the array's lock")
        #expect(acquires.filter { $0.puid == root.header.puid }.count == 1, "the parent's read of the totals")
        #expect(SharedMemoryTests.shmEntries().subtracting(shmBefore).isEmpty)
    }

    @Test("a named segment is attached by name in a child; the last user to close removes it, even after a user was killed",
          arguments: SharedMemoryTests.methods)
    func namedSegment(method: StartMethod) throws {
        let shmBefore = SharedMemoryTests.shmEntries()
        let (out, dir) = try TestSupport.runFixture(["shm-named", method.description])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "child read hello", "after the creator closed: exists true", "status exited(0)",
            "after the last user closed: exists false", "attach to it now: noSuchSegment",
            "create a taken name: segmentExists", "exists at the end: false",
            "killed user: signaled(SIGKILL)", "after a killed user: exists false",
        ])
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(SharedMemoryTests.shmEntries().subtracting(shmBefore).isEmpty, "nothing left in /dev/shm")
    }
}
