import ArgumentParser
import ForklineSpawn
import ForklineTrace

/// An argument-parser root command that is also a Forkline program: its `main` runs
/// ``ChildProcess/bootstrap(entries:)`` before any argument is parsed, then parses and runs the
/// command as `AsyncParsableCommand` does.
///
/// spawn and forkserver children re-execute the program, and they get no arguments of the
/// user's: without this, a `@main struct App: AsyncParsableCommand` would parse those (missing
/// ones, an error) in every child instead of running the child's entry point. Conform, and list
/// the entry points and pool functions:
///
/// ```swift
/// @main
/// struct App: ForklineCommand {
///     static let forklineEntries: [any AnyEntryPoint] = [square]
///     @Option var workers = 2
///     @Option var method: StartMethod = .forkserver
///     func run() async throws {
///         let squares = try await withPool(workers: workers, method: method) { try await $0.map(square, 1...10) }
///         print(squares)
///     }
/// }
/// ```
public protocol ForklineCommand: AsyncParsableCommand {
    /// The entry points and pool functions children may run (what `bootstrap` registers).
    static var forklineEntries: [any AnyEntryPoint] { get }
}

extension ForklineCommand {
    /// Bootstraps Forkline (a child runs its entry point here and never returns), then parses
    /// the command line and runs the command.
    public static func main() async {
        ChildProcess.bootstrap(entries: forklineEntries)
        await main(nil)
    }
}

/// `--method fork|spawn|forkserver` in an argument-parser command.
extension StartMethod: ExpressibleByArgument {
    /// Parses `fork`, `spawn` or `forkserver`.
    public init?(argument: String) { self.init(name: argument) }

    /// The values `--help` and a usage error list.
    public static var allValueStrings: [String] { ["fork", "spawn", "forkserver"] }
}
