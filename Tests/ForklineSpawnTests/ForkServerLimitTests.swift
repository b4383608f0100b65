import Foundation
import ForklineTestSupport
import Testing

/// The forkserver refuses requests from another user (it checks the peer's credentials); a
/// process that changed its uid must get a server of its own, and a fork the server could not
/// make must come back with its errno.
@Suite("The forkserver after a privilege drop and under RLIMIT_NPROC")
struct ForkServerLimitTests {
    @Test("after dropping from root to nobody, a forkserver child still starts (a server for the new uid)",
          .enabled(if: getuid() == 0, "needs root to drop privileges"))
    func privilegeDrop() throws {
        let (out, _) = try TestSupport.runFixture(["forkserver-setuid"], traced: false, timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.contains("root exited(0)"), "\(out.lines)")
        #expect(out.lines.contains("nobody exited(0)"), "\(out.lines)")
    }

    @Test("when the forkserver cannot fork (RLIMIT_NPROC), the error is systemCallFailed with errno EAGAIN",
          .enabled(if: getuid() == 0, "needs root to drop to a user whose processes it knows"))
    func nprocLimit() throws {
        let (out, _) = try TestSupport.runFixture(["forkserver-nproc"], traced: false, timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        let line = try #require(out.lines.first { $0.hasPrefix("limited ") })
        #expect(line.hasPrefix("limited error systemCallFailed errno=11"), "\(line)")
    }
}
