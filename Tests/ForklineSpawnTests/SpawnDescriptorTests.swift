import ForklineTestSupport
import ForklineTrace
import Testing

/// The descriptors a spawn child starts with, pinned while the parent's side of a spawn start
/// loses system calls (docs/spawn.md, "A spawn start, child and parent"): 0, 1 and 2, and each
/// passed descriptor from 4 on (found by its parent's number) and readable; not the bootstrap
/// channel (3 while the child bootstraps), nothing else of the parent's.
@Suite("A spawn child's descriptors")
struct SpawnDescriptorTests {
    @Test("a spawn child has 0, 1 and 2 open, and a passed pipe at 4, readable, nothing else")
    func onlyItsOwn() throws {
        let work = TestSupport.temporaryDirectory("forkline-spawn-fds")
        let (out, _) = try TestSupport.runFixture(["spawn-fds", "spawn", work], traced: false)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.lines
        #expect(lines.count == 8, "\(out.stdout)")
        guard lines.count == 8 else { return }
        #expect(lines[0] == "passed ")
        #expect(lines[1] == "fds 0 1 2", "\(out.stdout)")
        #expect(lines[2] == "status exited(0)")
        let passed = lines[3].split(separator: " ").dropFirst().map(String.init)
        #expect(passed.count == 1, "\(out.stdout)")
        #expect(lines[4] == "fds 0 1 2 4", "\(out.stdout)")
        #expect(lines[5] == "at 4", "\(out.stdout)")
        #expect(lines[6] == "read ping", "\(out.stdout)")
        #expect(lines[7] == "status exited(0)")
    }
}
