import Foundation
import ForklineTestSupport
import ForklineTrace
import Testing

/// A program that forgot `bootstrap(entries:)`, or an entry point it did not list: spawn and
/// forkserver children re-run the program's `main`, so these must fail at once in the parent
/// with an error that says what to do, never hang and never leave a zombie.
@Suite("A missing bootstrap or entry point is a clear error")
struct BootstrapTests {
    @Test("without bootstrap, starting a child or a pool fails at once naming bootstrap(entries:), no zombie",
          arguments: [StartMethod.spawn, .forkserver])
    func missingBootstrap(method: StartMethod) throws {
        let (out, _) = try TestSupport.runFixture(["no-bootstrap", method.description], traced: false,
                                                  environment: ["FIXTURE_SKIP_BOOTSTRAP": "1"], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.lines
        let child = try #require(lines.first { $0.hasPrefix("child ") })
        #expect(child.hasPrefix("child notBootstrapped: ") && child.contains("ChildProcess.bootstrap(entries:)"), "\(child)")
        let pool = try #require(lines.first { $0.hasPrefix("pool ") })
        #expect(pool.hasPrefix("pool workerStartFailed: ") && pool.contains("ChildProcess.bootstrap(entries:)"), "\(pool)")
        #expect(lines.contains("zombies 0"), "\(lines)")
    }

    @Test("an entry point not listed in bootstrap is named in its error; registered pool functions still run",
          arguments: [StartMethod.spawn, .forkserver])
    func unregisteredEntry(method: StartMethod) throws {
        let (out, _) = try TestSupport.runFixture(["no-bootstrap", method.description], traced: false, timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        let child = try #require(out.lines.first { $0.hasPrefix("child ") })
        #expect(child.hasPrefix("child unknownEntry: ") && child.contains("'unregistered'"), "\(child)")
        #expect(out.lines.contains("pool result 9"), "\(out.lines)")
        #expect(out.lines.contains("zombies 0"))
    }
}
