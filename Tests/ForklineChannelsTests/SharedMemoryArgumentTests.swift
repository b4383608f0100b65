import ForklineChannels
import Testing

/// A wrong argument is `invalidArgument`, not a missing segment or a failed system call.
@Suite("SharedMemory's bad arguments")
struct SharedMemoryArgumentTests {
    @Test("a name with a slash, an empty name and a new segment of size 0 are invalidArgument",
          arguments: [("a/b", 4096, true), ("", 4096, true), ("forkline-zero-size-test", 0, true)])
    func invalid(name: String, size: Int, create: Bool) {
        do {
            _ = try SharedMemory(name: name, size: size, create: create)
            Issue.record("accepted \(name) size \(size)")
        } catch {
            #expect(error.code == .invalidArgument, "\(error)")
        }
    }
}
