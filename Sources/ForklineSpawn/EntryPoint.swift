import FoundationEssentials
import ForklineCodec
import ForklineTrace
import ForklineSystem

/// A named function a child process can run, with Codable arguments.
///
/// The arguments travel to the child in Forkline's binary codec (docs/codec.md), so a type
/// that is ``BinaryCodable`` is written and read by its own code.
///
/// spawn and forkserver children start in a fresh process, so they cannot run a closure: they
/// run an entry point found by name. Register every entry point with
/// ``ChildProcess/bootstrap(entries:)`` at the top of `main`.
///
/// The child ends when `body` returns (or throws), as a Swift program ends when `main` returns:
/// threads and tasks it started are stopped with it, and work they had not finished is lost.
/// Python's `multiprocessing` waits for a child's non-daemon threads; Swift has no such kind of
/// thread, so wait for yours before returning (join a `Thread` with a semaphore, `await` a
/// `Task`'s value, `group.wait()` a `DispatchGroup`).
///
/// ```swift
/// struct Greeting: Codable, Sendable { var who: String }
/// let greet = EntryPoint<Greeting>("greet") { args in print("Hello, \(args.who)") }
/// ```
public struct EntryPoint<Arguments: Codable & Sendable>: Sendable {
    /// The name children look the entry point up by; unique in the program.
    public let name: String
    package let body: @Sendable (Arguments) throws -> Void

    /// Creates an entry point called `name` that runs `body`.
    public init(_ name: String, _ body: @escaping @Sendable (Arguments) throws -> Void) {
        self.name = name
        self.body = body
        EntryRunners.note(Self.self)
    }
}

/// An entry point with its argument type erased, as ``ChildProcess/bootstrap(entries:)`` takes
/// them: an ``EntryPoint`` or a pool function.
public protocol AnyEntryPoint: Sendable {
    /// The entry point's name.
    var name: String { get }
}

/// What a child runs: the entry points Forkline defines (``EntryPoint``, pool functions) decode
/// their arguments and run their body. Not public: a user's own conformance to
/// ``AnyEntryPoint`` names nothing a child can run.
package protocol RunnableEntryPoint: AnyEntryPoint {
    /// Decodes the arguments and runs the body.
    func run(encodedArguments: [UInt8]) throws
}

extension AnyEntryPoint {
    /// Runs this entry point on encoded arguments (in a child).
    package func run(encodedArguments: [UInt8]) throws {
        if let run = EntryRunners.runner(for: Self.self) { return try run(self, encodedArguments) }
        guard let runnable = self as? any RunnableEntryPoint else {
            throw SpawnError(.unsupported, "'\(name)' is not an EntryPoint or a pool function: a child cannot run it")
        }
        try runnable.run(encodedArguments: encodedArguments)
    }
}

extension EntryPoint: RunnableEntryPoint {
    package func run(encodedArguments: [UInt8]) throws {
        let args: Arguments
        do {
            args = try Self.decodeArguments(encodedArguments)
        } catch {
            throw SpawnError(.encoding, "entry point '\(name)': cannot decode its arguments: \(error)")
        }
        try body(args)
    }

    /// The arguments in `bytes`: a binary payload (first byte `0xFB`, as ``encode(_:)`` writes
    /// it), else JSON, which a remote pool worker's launcher leaves in its environment
    /// (docs/cluster.md). JSON text never starts with `0xFB` (not a byte of UTF-8).
    static func decodeArguments(_ bytes: [UInt8]) throws -> Arguments {
        if bytes.first == BinaryFormat.magic { return try BinaryDecoder().decode(Arguments.self, from: bytes) }
        return try JSONDecoder().decode(Arguments.self, from: Data(bytes))
    }

    /// Runs `entry`, an entry point of this type, on encoded arguments: what ``EntryRunners``
    /// keeps for the type.
    static func run(_ entry: any AnyEntryPoint, _ encodedArguments: [UInt8]) throws {
        // A cast to the concrete type compares the entry's type with it: no conformance look-up.
        try (entry as! Self).run(encodedArguments: encodedArguments)
    }

    /// Runs the argument decoder's first steps for `Arguments` (the forkserver, before it
    /// serves), stopping before any `init(from:)`: no user code runs. Children inherit what it
    /// made (docs/spawn.md, "What a child costs beyond a bare fork").
    func rehearseDecoding() {
        BinaryDecoder.rehearse(Arguments.self)
    }

    func encode(_ arguments: Arguments) throws(SpawnError) -> [UInt8] {
        do {
            return try BinaryEncoder().encode(arguments)
        } catch {
            throw SpawnError(.encoding, "entry point '\(name)': cannot encode its arguments: \(error)")
        }
    }
}

/// An entry point whose argument decoding can be rehearsed without running user code.
protocol DecodingRehearsal {
    func rehearseDecoding()
}

extension EntryPoint: DecodingRehearsal {}

/// An entry point that brings others with it when it is registered: ForklinePool's functions
/// bring the pool's worker loop, so listing a pool function in `bootstrap` is enough.
package protocol CompanionEntries {
    /// The entry points registered along with this one.
    var companions: [any AnyEntryPoint] { get }
}

extension ChildProcess {
    /// Registers entry points in this process only (a fork child inherits them); `bootstrap`
    /// does this too, and is what spawn and forkserver children need.
    package static func register(entries: [any AnyEntryPoint]) { EntryRegistry.register(entries) }

    /// The registered entry point called `name`, if any.
    package static func registeredEntry(_ name: String) -> (any AnyEntryPoint)? { EntryRegistry.lookup(name) }
}
