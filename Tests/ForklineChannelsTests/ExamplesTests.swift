import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("forkline-examples")
struct ExamplesTests {
    static let methods = ["fork", "spawn", "forkserver"]

    func run(_ name: String, _ method: String) throws -> (TestSupport.Output, CheckReport) {
        let dir = TestSupport.temporaryDirectory("forkline-example")
        let out = try TestSupport.run(TestSupport.executable("forkline-examples"), [name, "--method", method],
                                      environment: [Tracer.environmentVariable: dir])
        return (out, try Trace.load(path: dir).check())
    }

    @Test("hello-process prints the child's line, then the parent's", arguments: methods)
    func helloProcess(method: String) throws {
        let (out, report) = try run("hello-process", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["Executing task: Process 1", "Process execution complete."])
        #expect(report.ok, "\(report.violations)")
    }

    @Test("four-processes: four children print their pid and number, then the parent", arguments: methods)
    func fourProcesses(method: String) throws {
        let (out, report) = try run("four-processes", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.last == "All processes completed.")
        let numbers = out.lines.dropLast().compactMap { $0.split(separator: " ").last.flatMap { Int($0) } }
        #expect(numbers.sorted() == [1, 2, 3, 4])
        #expect(out.lines.dropLast().allSatisfy { $0.hasPrefix("Process ID: ") })
        #expect(report.ok, "\(report.violations)")
    }

    @Test("pipe-pingpong: three pings answered over a Pipe", arguments: methods)
    func pipePingPong(method: String) throws {
        let (out, report) = try run("pipe-pingpong", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["parent got: pong 1", "parent got: pong 2", "parent got: pong 3", "Ping-pong complete."])
        #expect(report.ok, "\(report.violations)")
    }

    @Test("shared-counter: four processes, 1,000 increments each, exactly 4,000", arguments: methods)
    func sharedCounter(method: String) throws {
        let (out, report) = try run("shared-counter", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["Counter: 4000 (expected 4000)"])
        #expect(report.ok, "\(report.violations)")
    }

    @Test("queue-workers: a producer, three workers and a JoinableQueue square ten numbers", arguments: methods)
    func queueWorkers(method: String) throws {
        let (out, report) = try run("queue-workers", method)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == (1...10).map { "\($0) squared is \($0 * $0)" } + ["All 10 jobs done by 3 workers."])
        #expect(report.ok, "\(report.violations)")
        #expect(report.notes.isEmpty, "\(report.notes)")
    }
}
