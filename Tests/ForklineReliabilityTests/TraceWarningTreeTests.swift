import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Issue 12 item 5: a full trace file system is said once per process tree, not once per process.
@Suite("A full trace file system warns once per process tree")
struct TraceWarningTreeTests {
    /// The stderr lines in which Forkline says tracing failed.
    static func warnings(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains("forkline: tracing") }
    }

    @Test("a pool whose workers cannot trace on a 256 KiB trace file system prints one warning", arguments: ["fork", "forkserver"])
    func poolOneWarning(method: String) throws {
        let fs = try SmallFileSystem(bytes: 256 << 10)
        let dir = fs.path + "/trace"
        // Workers SIGKILLed at random while 3,000 tasks run: the root's trace is cut, and most
        // replacement workers cannot create a file at all (39 warnings, one per process, before).
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["pool-chaos", method, "3000"],
                                      environment: [Tracer.environmentVariable: dir], timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        let trace = try Trace.load(path: dir)
        let forked = Set(trace.events(.fork).compactMap { $0["childPuid"]?.uint })
        let untraced = forked.filter { trace.process($0) == nil }.count
        let cut = trace.processes.filter(\.wasCut).count
        #expect(untraced + cut >= 2, "several processes failed to trace (\(untraced) without a file, \(cut) cut): the scene tests nothing otherwise")
        let said = Self.warnings(out.stderr)
        #expect(said.count == 1, "one warning for the tree: \(said)")
        #expect(said.first?.contains("No space left on device") == true, "\(said)")
        #expect(said.first?.contains("once for the whole process tree") == true, "\(said)")
        // The marker is not a trace file, and check still passes the correct program.
        #expect(FileManager.default.fileExists(atPath: dir + "/" + Tracer.warnedMarker))
        let report = trace.check()
        #expect(report.ok, "\(report.violations.prefix(4))")
    }

    @Test("a second run into the same directory gets its own warning")
    func secondRunWarnsAgain() throws {
        let fs = try SmallFileSystem(bytes: 256 << 10)
        let dir = fs.path + "/trace"
        for run in 1...2 {
            let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["trace-fills", "fork", "50000"],
                                          environment: [Tracer.environmentVariable: dir], timeout: 60)
            #expect(out.status == 0, "run \(run): \(out.stderr)")
            #expect(Self.warnings(out.stderr).count == 1, "run \(run): \(out.stderr)")
        }
    }
}
