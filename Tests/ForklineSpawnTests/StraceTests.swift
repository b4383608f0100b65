import Foundation
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("The trace agrees with the kernel")
struct StraceTests {
    /// Counts the processes (not threads) created in an `strace -f` log of clone/fork calls.
    static func processesCreated(_ log: String) -> Int {
        var pendingFlags: [Substring: Substring] = [:]
        var count = 0
        for line in log.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 1)
            guard fields.count == 2 else { continue }
            let (pid, call) = (fields[0], fields[1].drop(while: { $0 == " " }))
            var flags: Substring
            if call.contains("resumed>") {
                flags = pendingFlags.removeValue(forKey: pid) ?? ""
            } else if call.hasPrefix("clone") || call.hasPrefix("fork") || call.hasPrefix("vfork") {
                flags = call
                if call.hasSuffix("<unfinished ...>") { pendingFlags[pid] = call; continue }
            } else { continue }
            guard let eq = call.range(of: " = ", options: .backwards),
                  let result = Int(call[eq.upperBound...].prefix(while: \.isNumber)), result > 0 else { continue }
            if !flags.contains("CLONE_THREAD") { count += 1 }
            flags = ""
        }
        return count
    }

    @Test("under strace -f, the processes the kernel created equal the trace's fork events",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func forksMatchStrace(method: StartMethod) throws {
        let strace = ["/usr/bin/strace", "/bin/strace"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let straceBinary = try #require(strace, "strace is not installed: Tools/test installs it")
        let dir = TestSupport.temporaryDirectory("forkline-strace")
        let log = dir + "/strace.log"
        let out = try TestSupport.run(straceBinary, [
            "-f", "-qq", "-e", "trace=clone,clone3,fork,vfork", "-e", "signal=none", "-o", log,
            TestSupport.executable("forkline-fixture"), "start-join", method.description, "6",
        ], environment: [Tracer.environmentVariable: dir + "/trace"])
        #expect(out.status == 0, "\(out.stderr)")
        let created = Self.processesCreated(try String(contentsOfFile: log, encoding: .utf8))
        let forks = try TestSupport.loadProcesses(dir + "/trace").flatMap(\.events).filter { $0.kind == .fork }
        #expect(created == forks.count)
        #expect(created == 6 + (method == .forkserver ? 1 : 0))
    }
}
