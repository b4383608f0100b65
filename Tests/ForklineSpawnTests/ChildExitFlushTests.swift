import ForklineTestSupport
import ForklineTrace
import Testing

/// A child ends with exit_group, after a flush of every stream (ChildSetup.runAndExit), and that
/// flush is skipped when a single-threaded child has nothing buffered (fl_flush_streams): output
/// a child left buffered on stdout, or in a file it opened and never closed, must still come out.
@Suite("What a child leaves buffered at its end")
struct ChildExitFlushTests {
    @Test("a child's buffered stdout and an unclosed file's buffer are written when it ends",
          arguments: [StartMethod.fork, .forkserver, .spawn], [false, true])
    func bufferedOutputWritten(method: StartMethod, traced: Bool) throws {
        let work = TestSupport.temporaryDirectory("forkline-exit-flush")
        let (out, dir) = try TestSupport.runFixture(["exit-flush", method.description, work], traced: traced)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout == "unflushed stdout\nstatus=exited(0) file=unflushed file\n")
        if traced {
            let (_, report) = try TestSupport.checkedTrace(dir)
            #expect(report.ok, "\(report.violations)")
        }
    }
}
