import Foundation
import ForklineTestSupport
import ForklineTrace
import Testing

/// SIGPIPE's default action ends a program: no write of Forkline's may raise it.
@Suite("No write raises SIGPIPE")
struct SigPipeTests {
    @Test("writing to an exited child's stdin, to one that exits mid-write, and sending to a closed peer throw instead of killing the writer",
          arguments: [StartMethod.fork, .spawn, .forkserver])
    func writesToGonePeersThrow(method: StartMethod) throws {
        let (out, _) = try TestSupport.runFixture(["sigpipe", method.description], traced: false, timeout: 60)
        #expect(out.status == 0, "killed by signal \(-out.status)? \(out.stdout) \(out.stderr)")
        #expect(out.lines.contains("stdin write error systemCallFailed errno=32"), "\(out.lines)")
        #expect(out.lines.contains("mid-write stdin write error systemCallFailed errno=32"), "\(out.lines)")
        #expect(out.lines.contains { $0.hasPrefix("one-way send error ") }, "\(out.lines)")
        #expect(out.lines.last == "done")
    }
}
