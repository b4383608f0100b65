@testable import ForklineSpawn
import Synchronization
import Testing

/// A child runs its entry point through what `EntryPoint.init` noted for the entry's type
/// (``EntryRunners``), not a cast to ``RunnableEntryPoint`` (a conformance scan in a fresh
/// process): each entry still runs its own body on its own arguments, and an entry of a type
/// never noted (a pool function, here a type of the test's own) is cast as before.
@Suite("Running an entry point by its type")
struct EntryRunnerTests {
    struct Unseen: Codable, Sendable { var n: Int }
    struct Words: Codable, Sendable { var text: String }

    final class Seen: Sendable {
        let calls = Mutex<[String]>([])
        func add(_ s: String) { calls.withLock { $0.append(s) } }
        var all: [String] { calls.withLock { $0 } }
    }

    /// A runnable entry point that is not an `EntryPoint`.
    struct Custom: RunnableEntryPoint {
        let name: String
        let seen: Seen
        func run(encodedArguments: [UInt8]) throws { seen.add("\(name) \(encodedArguments.count) bytes") }
    }

    @Test("an EntryPoint type is noted when the first entry of it is created")
    func notedAtCreation() {
        #expect(EntryRunners.runner(for: EntryPoint<Unseen>.self) == nil)
        _ = EntryPoint<Unseen>("runner-unseen") { _ in }
        #expect(EntryRunners.runner(for: EntryPoint<Unseen>.self) != nil)
        _ = EntryPoint<Unseen>("runner-unseen-2") { _ in }
        #expect(EntryRunners.items.withLock { $0.filter { $0.type == ObjectIdentifier(EntryPoint<Unseen>.self) }.count } == 1)
    }

    @Test("each entry runs its own body on its arguments, two of one type and one of another")
    func ownBodies() throws {
        let seen = Seen()
        let a = EntryPoint<Words>("runner-a") { seen.add("a \($0.text)") }
        let b = EntryPoint<Words>("runner-b") { seen.add("b \($0.text)") }
        let c = EntryPoint<Int>("runner-c") { seen.add("c \($0)") }
        let entries: [any AnyEntryPoint] = [b, c, a]
        let arguments = [try b.encode(Words(text: "two")), try c.encode(3), try a.encode(Words(text: "one"))]
        for (e, bytes) in zip(entries, arguments) { try e.run(encodedArguments: bytes) }
        #expect(seen.all == ["b two", "c 3", "a one"])
    }

    @Test("an entry of a type no EntryPoint noted is cast and run")
    func castOtherwise() throws {
        let seen = Seen()
        let entry: any AnyEntryPoint = Custom(name: "custom", seen: seen)
        #expect(EntryRunners.runner(for: Custom.self) == nil)
        try entry.run(encodedArguments: [1, 2])
        #expect(seen.all == ["custom 2 bytes"])
    }
}
