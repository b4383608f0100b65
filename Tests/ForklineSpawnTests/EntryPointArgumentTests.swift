import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// An entry point's arguments travel in the binary codec (docs/codec.md, "Where it is used"):
/// the fixture's argument type refuses its `Codable` conformance, so a child starts only if the
/// arguments went by its own `BinaryCodable` code both ways; damaged arguments are the typed
/// decoding error in the child, which runs no body and is joined. The trace is checked.
@Suite("Entry point arguments in the binary codec")
struct EntryPointArgumentTests {
    @Test("a BinaryCodable-only argument reaches a spawn, forkserver and fork child whole",
          arguments: [StartMethod.spawn, .forkserver, .fork])
    func binaryArguments(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["codec-entry-binary", method.description], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["child got 7 2.5 entrée", "status exited(0)"], "\(out.stderr)")
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }

    @Test("damaged arguments fail the child with the decoding error, no body run, each child joined",
          arguments: [StartMethod.spawn, .forkserver])
    func damagedArguments(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["codec-entry-bad", method.description], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["status exited(1)", "status exited(1)", "status exited(1)"], "\(out.stderr)")
        let errors = out.stderr.split(separator: "\n").filter { $0.contains("entry point 'codec-entry-show': cannot decode its arguments") }
        #expect(errors.count == 3, "\(out.stderr)")
        #expect(!out.stdout.contains("child got"))
        let (_, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
    }
}
