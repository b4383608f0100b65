import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Shared values and process-shared locks")
struct SharedMemoryTests {
    static let methods: [StartMethod] = [.fork, .spawn, .forkserver]

    static func shmEntries() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? [])
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
