import FoundationEssentials
import ForklineTrace

/// A named function a child process can run, with Codable arguments.
///
/// spawn and forkserver children start in a fresh process, so they cannot run a closure: they
/// run an entry point found by name. Register every entry point with
/// ``ChildProcess/bootstrap(entries:)`` at the top of `main`.
///
/// ```swift
/// struct Greeting: Codable, Sendable { var who: String }
/// let greet = EntryPoint<Greeting>("greet") { args in print("Hello, \(args.who)") }
/// ```
public struct EntryPoint<Arguments: Codable & Sendable>: Sendable {
    /// The name children look the entry point up by; unique in the program.
    public let name: String
    let body: @Sendable (Arguments) throws -> Void

    /// Creates an entry point called `name` that runs `body`.
    public init(_ name: String, _ body: @escaping @Sendable (Arguments) throws -> Void) {
        self.name = name
        self.body = body
    }
}

/// An entry point with its argument type erased, as the registry keeps it.
public protocol AnyEntryPoint: Sendable {
    /// The entry point's name.
    var name: String { get }
    /// Decodes the arguments and runs the body.
    func run(encodedArguments: [UInt8]) throws
}

extension EntryPoint: AnyEntryPoint {
    public func run(encodedArguments: [UInt8]) throws {
        let args: Arguments
        do {
            args = try JSONDecoder().decode(Arguments.self, from: Data(encodedArguments))
        } catch {
            throw SpawnError(.encoding, "entry point '\(name)': cannot decode its arguments: \(error)")
        }
        try body(args)
    }

    func encode(_ arguments: Arguments) throws(SpawnError) -> [UInt8] {
        do {
            return Array(try JSONEncoder().encode(arguments))
        } catch {
            throw SpawnError(.encoding, "entry point '\(name)': cannot encode its arguments: \(error)")
        }
    }
}

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

/// The entry points this program registered.
enum EntryRegistry {
    static let entries = ForkSafeLock<[String: any AnyEntryPoint]>([:])

    static func register(_ list: [any AnyEntryPoint]) {
        entries.withLock { table in
            for e in list {
                precondition(table[e.name] == nil || table[e.name]!.name == e.name, "two entry points named '\(e.name)'")
                table[e.name] = e
                for c in (e as? CompanionEntries)?.companions ?? [] { table[c.name] = c }
            }
        }
    }

    static func lookup(_ name: String) -> (any AnyEntryPoint)? { entries.withLock { $0[name] } }
}
