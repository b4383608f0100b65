import ArgumentParser
import Forkline
import ForklineService

/// The argument-parser program of ForklineCommand's documentation: options parsed in the parent
/// only; spawn and forkserver children run their entry point instead of parsing.
struct Command: AsyncParsableCommand {
    @Option var workers = 2
    @Option var method: StartMethod = .forkserver
    @Argument var count: Int

    func run() async throws {
        let squares = try await withPool(workers: workers, method: method) { pool in
            try await pool.map(square, 1...count)
        }
        say("\(method) \(squares)")
    }
}
