import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("The recorder's own limits and races: tracing never hurts the program or loses later events")
struct TraceRecorderFaultTests {
    @Test("an event past the format's size limits leaves a visible record and nothing after it is lost")
    func oversizedEvents() throws {
        let dir = TestSupport.temporaryDirectory("forkline-limits")
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["trace-limits"],
                                      environment: [Tracer.environmentVariable: dir], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["done"])
        #expect(out.stderr.contains("over the trace format's limits"), "one warning: \(out.stderr)")
        let trace = try Trace.load(path: dir)
        let root = try #require(trace.processes.first { $0.header.pid == out.pid })
        #expect(root.damage.isEmpty, "\(root.damage)")
        let marks = root.events.filter { $0.kind == .mark }
        let labelSizes: [Int] = marks.map { $0["label"]?.string?.utf8.count ?? -1 }
        #expect(labelSizes == [65_535, 65_535, 65_535, 5])
        #expect(marks.last?["label"]?.string == "after", "the events after the oversized ones are kept")
        // The two requests that fit are whole; the two that do not are dropped, each named.
        let requests = root.events.filter { $0.kind == .request }
        let frameCounts: [Int] = requests.map { $0["backtrace"]?.backtrace?.frames?.count ?? -1 }
        #expect(frameCounts == [65_529, 65_530])
        let cut = root.events.filter { $0.kind == .eventTruncated }
        #expect(cut.count == 4, "two marks cut short, two requests dropped: \(cut)")
        let shortened = cut.filter { $0["recorded"]?.uint == 1 }
        let shortSizes: [UInt64?] = [2 + 65_536, 2 + 524_260]
        #expect(shortened.map { $0["needed"]?.uint } == shortSizes)
        let cutMarks: [UInt64] = marks[1...2].map(\.seq)
        #expect(shortened.compactMap { $0["seq"]?.uint } == cutMarks)
        let dropped = cut.filter { $0["recorded"]?.uint == 0 }
        let request = UInt64(EventKind.request.rawValue)
        let droppedKinds: [UInt64?] = [request, request]
        let droppedSizes: [UInt64?] = [12 + 8 * 65_532, 12 + 8 * 65_534]
        #expect(dropped.map { $0["kind"]?.uint } == droppedKinds)
        #expect(dropped.map { $0["needed"]?.uint } == droppedSizes)
        // `check` names each one; the program itself is correct.
        let report = trace.check()
        #expect(report.ok, "\(report.violations)")
        #expect(report.notes.filter { $0.contains("over the trace format's limits") }.count == 4, "\(report.notes)")
    }

    @Test("threads recording while main returns: never a crash, the exit is the last event, nothing half-written (200 runs)")
    func exitRace() throws {
        var failures: [String] = []
        for run in 0..<200 where failures.count < 5 {
            let dir = TestSupport.temporaryDirectory("forkline-exit-race")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["trace-exit-race", "fork", "4"],
                                          environment: [Tracer.environmentVariable: dir], timeout: 60)
            if out.status != 0 { failures.append("run \(run): status \(out.status) \(out.stderr.suffix(300))"); continue }
            let trace = try Trace.load(path: dir)
            let report = trace.check()
            if !report.ok { failures.append("run \(run): \(report.violations.prefix(2))") }
            if trace.processes.first?.events.last?.kind != .exit { failures.append("run \(run): the last event is not the exit") }
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test("the crash writer records a crash near a chunk's end without growing the file in the signal handler")
    func crashNeedsNoGrow() throws {
        // strace shows what the handler does: after a child's SIGSEGV is delivered, no
        // fallocate or mmap may follow in that process (neither is async-signal-safe).
        let strace = try #require(["/usr/bin/strace", "/bin/strace"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                  "strace is needed (apt-get install strace)")
        let dir = TestSupport.temporaryDirectory("forkline-crash-room")
        let log = dir + ".strace"
        defer { try? FileManager.default.removeItem(atPath: log) }
        let out = try TestSupport.run(strace, ["-f", "-o", log, "-e", "trace=fallocate,mmap", "-e", "signal=SIGSEGV",
                                               TestSupport.executable("forkline-fixture"), "trace-crash-near-chunk-end"],
                                      environment: [Tracer.environmentVariable: dir], timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.count == 51 && out.lines.allSatisfy { $0.hasSuffix("signaled(SIGSEGV)") }, "\(out.lines)")
        var crashed: Set<String> = []
        var inHandler: [String] = []
        for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
            let pid = String(line.prefix { $0 != " " })
            if line.contains("--- SIGSEGV") { crashed.insert(pid) }
            else if crashed.contains(pid), line.contains("fallocate(") || line.contains("mmap(") { inHandler.append(String(line)) }
        }
        #expect(crashed.count == 51, "every child's SIGSEGV is in the strace log")
        #expect(inHandler.isEmpty, "system calls in the crash handler: \(inHandler)")
        let trace = try Trace.load(path: dir)
        let crashes = trace.processes.filter { $0.events.last?.kind == .crash }
        #expect(crashes.count == 51, "each child's last event is its crash")
    }

    @Test("FORKLINE_TRACE naming a directory whose parents do not exist creates them, as a user expects")
    func missingParents() throws {
        let base = TestSupport.temporaryDirectory("forkline-parents")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dir = base + "/traces/today/run1"
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["start-join", "fork", "2"],
                                      environment: [Tracer.environmentVariable: dir], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(!out.stderr.contains("tracing disabled"), "\(out.stderr)")
        let trace = try Trace.load(path: dir)
        #expect(trace.processes.count == 3)
        #expect(trace.check().ok)
    }
}
