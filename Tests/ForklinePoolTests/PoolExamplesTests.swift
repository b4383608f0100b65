import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("forkline-examples pool-map and pool-crash")
struct PoolExamplesTests {
    static let methods = ["fork", "spawn", "forkserver"]

    func run(_ name: String, _ method: String) throws -> (TestSupport.Output, Trace) {
        let dir = TestSupport.temporaryDirectory("forkline-example")
        let out = try TestSupport.run(TestSupport.executable("forkline-examples"), [name, "--method", method],
                                      environment: [Tracer.environmentVariable: dir], timeout: 60)
        return (out, try Trace.load(path: dir))
    }

    @Test("pool-map prints the five tasks in input order", arguments: methods)
    func poolMap(method: String) throws {
        let (out, trace) = try run("pool-map", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == (1...5).map { "Executing task: Task \($0)" })
        let report = trace.check()
        #expect(report.ok, "\(report.violations)")
        #expect(trace.processes.filter { $0.name.hasPrefix("PoolWorker-") }.count == 3)
    }

    @Test("pool-crash reports the task whose worker died and every other result, and exits 0", arguments: methods)
    func poolCrash(method: String) throws {
        let (out, trace) = try run("pool-crash", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.count == 5)
        #expect(Array(out.lines.prefix(2)) == ["Task 1: 1", "Task 2: 4"])
        #expect(Array(out.lines.suffix(2)) == ["Task 4: 16", "Task 5: 25"])
        let failure = out.lines.count > 2 ? out.lines[2] : ""
        #expect(failure.hasPrefix("Task 3 failed: ") && failure.contains("SIGKILL") && failure.contains("pid "), "\(failure)")
        let report = trace.check()
        #expect(report.ok, "\(report.violations)")
        #expect(trace.processes.flatMap(\.events).filter { $0.kind == .workerReplaced }.count == 1)
    }
}
