import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// How a crashing child ends, in the environment a user has (`SWIFT_BACKTRACE` unset): once its
/// crash is recorded no thread of it goes on, it dies of the crash's own signal, and the Swift
/// runtime's crash report (seconds long, with a 140 MB helper process) does not run in it.
@Suite("A crashing child ends at once")
struct CrashEndTests {
    static let expected = [
        "raise": "signaled(SIGSEGV)", "segv": "signaled(SIGSEGV)", "fatal": "signaled(SIGILL)",
        "abort": "signaled(SIGABRT)",
    ]

    static func statuses(_ out: TestSupport.Output) -> [String: String] {
        var seen: [String: String] = [:]
        for line in out.lines {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { seen[parts[0]] = parts[1] }
        }
        return seen
    }

    @Test("a child with busy threads that crashes dies of its signal, records nothing after its crash, runs no runtime report",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func tracedCrashEndsAtOnce(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["crash-ends", method.description])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Self.statuses(out) == Self.expected, "\(out.stdout)")
        #expect(!out.stdout.contains("after-crash"), "code after the crash ran")
        // The runtime's report starts with "💣 Program crashed"; it must not run in a child.
        #expect(!out.stderr.contains("Program crashed"), "\(out.stderr)")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations.map { "\($0)" })")
        let crashed = trace.processes.filter { $0.events.contains { $0.kind == .crash } }
        #expect(crashed.count == 4)
        for p in crashed {
            // The busy threads marked until the crash and not one event after it.
            #expect(p.events.last?.kind == .crash, "\(p.name): \(p.events.suffix(3).map { "\($0.kind)" })")
            #expect(p.events.contains { $0.kind == .mark })
        }
    }

    @Test("untraced, a crashing child still dies of its signal at once, without the runtime's report",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func untracedCrashEndsAtOnce(method: StartMethod) throws {
        let (out, _) = try TestSupport.runFixture(["crash-ends", method.description], traced: false)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Self.statuses(out) == Self.expected, "\(out.stdout)")
        #expect(!out.stdout.contains("after-crash"))
        #expect(!out.stderr.contains("Program crashed"), "\(out.stderr)")
    }

    @Test("FORKLINE_CRASH_REPORT=swift opts a child back into the Swift runtime's crash report")
    func optInToRuntimeReport() throws {
        let (out, _) = try TestSupport.runFixture(["crash-ends", "spawn"], traced: false,
                                                  environment: ["FORKLINE_CRASH_REPORT": "swift"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Self.statuses(out)["segv"] == "signaled(SIGSEGV)")
        #expect(out.stderr.contains("Program crashed"), "the runtime's report ran")
    }
}
