import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Starting and joining children")
struct StartJoinTests {
    static let methods: [StartMethod] = [.fork, .spawn, .forkserver]

    @Test("each start method starts and joins 1, 4 and 100 children, all traced", arguments: methods, [1, 4, 100])
    func startsAndJoins(method: StartMethod, count: Int) throws {
        let (out, dir) = try TestSupport.runFixture(["start-join", method.description, "\(count)"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.count == count)
        #expect(out.lines.allSatisfy { $0.hasSuffix(" exited(0)") })
        let processes = try TestSupport.loadProcesses(dir)
        let forkserver = method == .forkserver ? 1 : 0
        #expect(processes.count == count + 1 + forkserver)
        #expect(processes.allSatisfy { $0.damage.isEmpty })
        let forks = processes.flatMap(\.events).filter { $0.kind == .fork }
        let starts = processes.compactMap { $0.events.first }.filter { $0.kind == .start }
        #expect(forks.count == count + forkserver)
        #expect(starts.count == processes.count)
        // Every fork names a child whose start names that fork back.
        for fork in forks {
            let child = processes.first { $0.header.puid == fork["childPuid"]?.uint }
            let start = child?.events.first
            #expect(start?.kind == .start)
            #expect(start?["forkerPuid"]?.uint == fork.puid)
            #expect(start?["forkSeq"]?.uint == fork.seq)
            #expect((start?.time ?? 0) >= fork.time)
            #expect(Int32(truncatingIfNeeded: fork["childPid"]?.int ?? 0) == child?.header.pid)
        }
        let joins = processes.flatMap(\.events).filter { $0.kind == .join }
        #expect(joins.count == count + forkserver)
        #expect(joins.allSatisfy { $0["status"]?.status == .exited(0) })
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }

    @Test("the forkserver starts children in a program that already runs Dispatch threads and Swift tasks")
    func forkserverWithThreads() throws {
        let (out, dir) = try TestSupport.runFixture(["threads", "forkserver", "3"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == "exited(0) exited(0) exited(0)\n")
        let marks = try TestSupport.loadProcesses(dir).flatMap(\.events).filter { $0.kind == .mark }
        #expect(marks.filter { $0["label"]?.string == "dispatch ran" }.count == 3)
    }

    @Test("a fork child does not print its parent's buffered output again, even while another thread prints")
    func forkChildDropsParentsBuffer() throws {
        let (out, _) = try TestSupport.runFixture(["fork-stdio", "fork", "40"])
        #expect(out.status == 0, "\(out.stderr)")
        // Each child writes its line in one write at exit, which may land inside a line of the
        // parent's (its buffer fills and is written at any byte): take the children's lines out,
        // and what is left is exactly the parent's output, each line once.
        var parent = out.stdout
        for i in 0..<40 {
            let line = "child \(i)\n"
            #expect(parent.components(separatedBy: line).count == 2, "\(line) printed once")
            parent = parent.replacingOccurrences(of: line, with: "")
        }
        let lines = parent.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let repeated = Dictionary(lines.map { ($0, 1) }, uniquingKeysWith: +).filter { $0.value > 1 }
        #expect(repeated.isEmpty, "lines printed more than once: \(repeated.keys.sorted().prefix(5))")
        #expect(parent == (0..<20_000).map { "p \($0)\n" }.joined())
    }

    @Test("a child gets its environment, working directory, stdin from a file, stdout to a pipe and stderr to a file",
          arguments: methods)
    func options(method: StartMethod) throws {
        let work = TestSupport.temporaryDirectory("forkline-options")
        let (out, dir) = try TestSupport.runFixture(["options", method.description, work])
        #expect(out.status == 0, "\(out.stderr)")
        let me = out.lines.first { $0.hasPrefix("me=") }.map { String($0.dropFirst(3)) }
        #expect(out.lines.dropLast() == [
            "env=42", "home=<unset>", "cwd=\(work)", "name=reporter", "parent=\(me ?? "?")",
            "stdin=hello from a file", "status=exited(0)",
        ])
        #expect(try String(contentsOfFile: work + "/stderr.txt", encoding: .utf8) == "to stderr\n")
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }

    @Test("join with a timeout, isAlive, terminate, activeChildren, and a daemon ended at exit", arguments: methods)
    func lifecycle(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["lifecycle", method.description])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(Array(out.lines.prefix(8)) == [
            "alive=true", "active=1", "timeout=nil", "status=signaled(SIGTERM)", "alive-after=false",
            "active-after=0", "cpus=\(ProcessInfo.processInfo.activeProcessorCount)", out.lines.last ?? "",
        ])
        let daemon = try #require(out.lines.last.flatMap { Int32($0.dropFirst("daemon=".count)) })
        #expect(!TestSupport.isRunning(daemon), "the daemon outlived its parent")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let root = try #require(trace.processes(named: "main").first)
        #expect(root.events.filter { $0.kind == .terminate }.count == 2, "terminate() and the daemon's at exit")
    }

    @Test("tracing turned on in code after the forkserver started still gives a sound trace")
    func lateTracing() throws {
        let dir = TestSupport.temporaryDirectory("forkline-late")
        let (out, _) = try TestSupport.runFixture(["late-trace", "forkserver", dir], traced: false)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["untraced exited(0)", "traced exited(0)"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        #expect(trace.processes.count == 3, "main, the forkserver and the traced child")
        #expect(trace.events(.mark).count == 1)
    }

    @Test("joining an unstarted child, starting twice and joining oneself are clear errors")
    func misuse() throws {
        let (out, _) = try TestSupport.runFixture(["errors", "fork"], traced: false)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["join-unstarted notStarted", "start-twice alreadyStarted", "join-self joinSelf"])
    }

    @Test("1,000 start/join cycles leave no zombie and no extra descriptor", arguments: methods)
    func cycles(method: StartMethod) throws {
        let (out, _) = try TestSupport.runFixture(["cycles", method.description, "1000"], traced: false, timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        let fds = out.lines.first { $0.hasPrefix("fds ") }?.split(separator: " ")
        #expect(fds?.count == 3 && fds?[1] == fds?[2], "descriptors before and after: \(out.stdout)")
        #expect(out.lines.contains("zombies 0"))
        #expect(!out.stdout.contains("cycle "), "a cycle ended badly: \(out.stdout)")
    }
}
