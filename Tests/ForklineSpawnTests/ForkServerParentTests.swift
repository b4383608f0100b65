import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("A forkserver child's kernel parent")
struct ForkServerParentTests {
    /// The fixture's lines keyed by their first two words ("child pid", "child status", ...).
    static func facts(_ lines: [String]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for line in lines {
            let words = line.split(separator: " ").map(String.init)
            guard words.count >= 3 else { continue }
            out[words[0] + " " + words[1]] = Array(words.dropFirst(2))
        }
        return out
    }

    @Test("the owner's child is its own (it reaps it: exit codes and SIGKILL reported); another requester's, or one asked for while SIGCHLD is ignored, is the server's; no zombie; the trace checks")
    func ownersChildIsItsOwn() throws {
        let (out, dir) = try TestSupport.runFixture(["forkserver-parents"])
        #expect(out.status == 0, "\(out.stderr)")
        let f = Self.facts(out.lines)
        let owner = try #require(f["owner pid"]?.first.flatMap { Int32($0) }, "\(out.stdout)")
        let processes = try TestSupport.loadProcesses(dir)
        let server = try #require(processes.first { $0.events.first?["name"]?.string == "forkserver" }?.header.pid)
        // child pid P ppid K parent L
        let child = try #require(f["child pid"], "\(out.stdout)")
        #expect(child[2] == "\(owner)" && child[4] == "\(owner)", "the owner's child: kernel parent \(child[2]), owner \(owner), server \(server)")
        let grandchild = try #require(f["grandchild pid"], "\(out.stdout)")
        #expect(grandchild[2] == "\(server)" && grandchild[4] == child[0], "a child's child: kernel parent \(grandchild[2]), server \(server)")
        #expect(f["grandchild status"] == ["exited(4)"])
        #expect(f["child status"] == ["exited(3)"])
        #expect(f["killed status"] == ["signaled(SIGKILL)"])
        let ignoring = try #require(f["ignoring pid"], "\(out.stdout)")
        #expect(ignoring[2] == "\(server)" && ignoring[4] == "\(owner)", "SIGCHLD ignored: kernel parent \(ignoring[2]), server \(server)")
        #expect(f["ignoring status"] == ["exited(5)"], "with SIGCHLD ignored the status is relayed, not lost")
        #expect(out.lines.contains("zombies 0"), "\(out.stdout)")
        // The trace's headers record the kernel parent as each child saw it at its start.
        let byPid = Dictionary(processes.map { ($0.header.pid, $0) }, uniquingKeysWith: { a, _ in a })
        #expect(byPid[Int32(child[0]) ?? 0]?.header.ppid == owner)
        #expect(byPid[Int32(grandchild[0]) ?? 0]?.header.ppid == server)
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
