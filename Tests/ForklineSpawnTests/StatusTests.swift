import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Exit statuses, crashes and kills")
struct StatusTests {
    static let expected: [String: String] = [
        "return": "exited(0)", "throw": "exited(1)", "exit3": "exited(3)", "segv": "signaled(SIGSEGV)",
        "abort": "signaled(SIGABRT)", "fatal": "signaled(SIGILL)", "bus": "signaled(SIGBUS)",
        "sleep": "signaled(SIGKILL)",
    ]
    static let crashSignals: [String: Int64] = ["segv": 11, "abort": 6, "fatal": 4, "bus": 7]

    @Test("a child that returns, throws, exits 3, crashes or is SIGKILLed gives the right status and trace",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func statuses(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["statuses", method.description])
        #expect(out.status == 0, "\(out.stderr)")
        var seen: [String: String] = [:]
        for line in out.lines {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { seen[parts[0]] = parts[1] }
        }
        #expect(seen == Self.expected)

        let processes = try TestSupport.loadProcesses(dir)
        let root = try #require(processes.first { $0.events.first?["method"]?.uint == UInt64(StartMethod.root.rawValue) })
        let joins = root.events.filter { $0.kind == .join }
        let children = processes.filter {
            $0.events.first?["parentPuid"]?.uint == root.header.puid && $0.events.first?["name"]?.string != "forkserver"
        }
        #expect(children.count == Self.expected.count)
        for child in children {
            let join = try #require(joins.first { $0["childPuid"]?.uint == child.header.puid })
            let status = try #require(join["status"]?.status)
            let last = try #require(child.events.last)
            switch status {
            case .exited(let code):
                #expect(last.kind == .exit && last["code"]?.int == Int64(code), "exit event of a child that \(status)")
            case .signaled(9):
                #expect(last.kind != .exit && last.kind != .crash, "a SIGKILLed child records no end")
            case .signaled(let sig):
                #expect(last.kind == .crash && last["signal"]?.int == Int64(sig), "crash event of a child that \(status)")
                let frames = last["backtrace"]?.backtrace?.frames ?? []
                #expect(frames.count > 3, "the crash backtrace has frames")
            }
        }
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // After symbolisation, each crash backtrace names the function that crashed.
        let symbolizer = Symbolizer()
        let crashers = ["segv": "crashHere", "fatal": "fatalHere", "bus": "busHere", "abort": "Behaviours.run"]
        for child in children {
            guard let crash = child.events.last, crash.kind == .crash, let bt = crash["backtrace"]?.backtrace else { continue }
            let frames = symbolizer.symbolicate(bt, in: trace.modules(for: child), firstIsPC: true) ?? []
            let signal = crash["signal"]?.int ?? 0
            let expected = crashers.first { Self.crashSignals[$0.key] == signal }!.value
            #expect(frames.prefix(6).contains { $0.symbol?.contains(expected) == true },
                    "signal \(signal): \(frames.prefix(6).map(\.description))")
        }
    }

    // libunwind checks each address it reads by writing it to a pipe of its own. A child that
    // closed that pipe's descriptors and reused the numbers for its own files got empty crash
    // backtraces (seen in CI on forkserver pool workers): the pipe must survive into children.
    @Test("a child that opened files of its own before crashing still gets a full crash backtrace",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func backtraceAfterOpens(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["crash-after-opens", method.description])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["raise-after-opens signaled(SIGSEGV)"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let crash = try #require(trace.events(.crash).first)
        let child = try #require(trace.processes.first { $0.events.last?.kind == .crash })
        let bt = try #require(crash["backtrace"]?.backtrace)
        let frames = Symbolizer().symbolicate(bt, in: trace.modules(for: child), firstIsPC: true) ?? []
        #expect(frames.count > 3, "the crash backtrace has frames")
        #expect(frames.contains { $0.symbol?.contains("raiseAfterOpens") == true }, "\(frames.prefix(8).map(\.description))")
    }

    @Test("without libunwind, crashes are still recorded, with backtraces marked unavailable")
    func withoutLibunwind() throws {
        let (out, dir) = try TestSupport.runFixture(["statuses", "fork"], environment: ["FORKLINE_NO_LIBUNWIND": "1"])
        #expect(out.status == 0, "\(out.stderr)")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let crashes = trace.events(.crash)
        #expect(crashes.count == 4)
        #expect(crashes.allSatisfy { $0["backtrace"]?.backtrace == .unavailable })
        #expect(trace.events(.fork).allSatisfy { $0["backtrace"]?.backtrace == .unavailable })
        let shown = try TestSupport.run(TestSupport.executable("replay"), ["check", dir])
        #expect(shown.status == 0)
        #expect(shown.stdout.components(separatedBy: "backtrace unavailable").count == 5)
    }

    @Test("a SIGKILLed child's events recorded before the kill are all in the trace",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func sigkillKeepsEvents(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["marks-then-sigkill", method.description, "5000"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["victim signaled(SIGKILL)"])
        let victim = try #require(try TestSupport.loadProcesses(dir).first { $0.events.first?["name"]?.string == "victim" })
        let labels = victim.events.filter { $0.kind == .mark }.compactMap { $0["label"]?.string }
        #expect(labels == (0..<5000).map { "m\($0)" })
        #expect(victim.damage.isEmpty)
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }

    @Test("killing the parent leaves no child alive within a second", arguments: [StartMethod.fork, .spawn, .forkserver])
    func noOrphans(method: StartMethod) throws {
        let (p, pids) = try TestSupport.startPrintingPids(TestSupport.executable("forkline-fixture"),
                                                          ["orphans", method.description, "8"])
        #expect(pids.count == 8)
        #expect(pids.allSatisfy(TestSupport.isRunning))
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let alive = TestSupport.survivors(pids, within: 1)
        #expect(alive.isEmpty, "children still alive a second after their parent was killed: \(alive)")
    }
}
