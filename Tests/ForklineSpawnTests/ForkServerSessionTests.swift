import Foundation
import ForklineTestSupport
import Testing

@Suite("The owner's one connection to its forkserver")
struct ForkServerSessionTests {
    @Test("the owner asks for all its children over one kept connection (from one thread and from four at once): every exit status exact, no descriptor leaked, a fork child's own requests relayed, no zombie; a dead server fails the next starts with forkserverFailed; the trace checks")
    func ownerKeepsOneConnection() throws {
        let (out, dir) = try TestSupport.runFixture(["forkserver-session"])
        #expect(out.status == 0, "\(out.stderr)")
        // One connection the server holds for the owner, made at its first request and kept:
        // before, each start connected anew and the server closed it after its answer (0).
        #expect(out.lines.contains("after 1: connections 1 wrong 0"), "\(out.stdout)")
        #expect(out.lines.contains("after 30: connections 1 wrong 0 descriptors 0"), "\(out.stdout)")
        // Threads that find the connection in use connect for their child as before: nothing kept.
        #expect(out.lines.contains("after threads: connections 1 wrong 0 descriptors 0"), "\(out.stdout)")
        #expect(out.lines.contains("fork child status exited(0)"), "\(out.stdout)")
        #expect(out.lines.contains("zombies 0"), "\(out.stdout)")
        // A server that died fails the next start over the kept connection, and the one after
        // (which connects), with forkserverFailed; nothing hangs.
        #expect(out.lines.contains("server killed: error forkserverFailed then error forkserverFailed"), "\(out.stdout)")
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
