import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// `forkline-examples deadlock`, the README's demonstration of `replay status`: while it hangs,
/// the status of its trace shows the lock-order cycle; killing the program leaves no worker.
@Suite("forkline-examples deadlock")
struct DeadlockExampleTests {
    @Test("while it hangs, replay status shows both workers in a lock cycle and the parent behind them", arguments: ["fork", "forkserver"])
    func statusWhileHung(method: String) throws {
        let dir = TestSupport.temporaryDirectory("forkline-deadlock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: TestSupport.executable("forkline-examples"))
        p.arguments = ["deadlock", "--method", method, "--give-up-after", "600"]
        var env = ProcessInfo.processInfo.environment
        env[Tracer.environmentVariable] = dir
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        defer {
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
        }
        var status = ""
        for _ in 0..<1200 {
            status = try TestSupport.run(TestSupport.executable("replay"), ["status", dir]).stdout
            if status.contains("deadlock: transfer-a-to-b") { break }
            usleep(100_000)
        }
        #expect(status.contains("deadlock: transfer-a-to-b (pid "), "\(status)")
        #expect(status.contains("transfer-a-to-b (pid ") && status.contains("): blocked on lock ") && status.contains(" held by transfer-b-to-a (pid "), "\(status)")
        #expect(status.contains("blocked behind them: main (pid \(p.processIdentifier))"), "\(status)")
        let workers = try Trace.load(path: dir).processes.filter { $0.name.hasPrefix("transfer-") }.map(\.header.pid)
        #expect(workers.count == 2)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(TestSupport.survivors(workers, within: 10).isEmpty, "the workers die with the program (PR_SET_PDEATHSIG)")
    }
}
