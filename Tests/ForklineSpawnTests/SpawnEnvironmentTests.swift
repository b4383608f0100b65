import ForklineTestSupport
import ForklineTrace
import Testing

/// What environment a spawn child starts with when the parent gives none: its parent's, entry
/// for entry and in the parent's order, without Forkline's bootstrap variable.
@Suite("A spawn child's environment")
struct SpawnEnvironmentTests {
    @Test("a spawn child sees its parent's environ in the parent's order, values with '=' intact, traced or not",
          arguments: [false, true])
    func inOrder(traced: Bool) throws {
        let work = TestSupport.temporaryDirectory("forkline-spawn-env")
        let (out, _) = try TestSupport.runFixture(["spawn-env-order", "spawn", work], traced: traced)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.first == "status exited(0)", "\(out.stdout)")
        #expect(out.lines.dropFirst().first == "order same", "\(out.stdout)")
    }
}
