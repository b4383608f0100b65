import ArgumentParser
import Forkline
import ForklineService
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Submits `--tasks` tasks of `--task-ms` to a PoolService, runs it in a ServiceGroup, raises a
/// real SIGTERM once the group runs, and prints how each task ended, what a submission after
/// shutdown gets, and the workers left.
struct Shutdown: AsyncParsableCommand {
    @Option var tasks = 3
    @Option var taskMs = 300
    @Option var deadlineMs = 30_000
    @Option var method: StartMethod = .forkserver
    @Flag(help: "SIGTERM cancels the group instead of shutting it down gracefully.") var cancel = false
    @Flag(help: "The pool's workers cannot start (their initializer exits 3).") var broken = false

    /// Sends the program SIGTERM once the group runs (so its signal handler is installed), then
    /// waits for the graceful shutdown that follows.
    struct SendSIGTERM: Service {
        func run() async throws {
            kill(getpid(), SIGTERM)
            try? await gracefulShutdown()
        }
    }

    func run() async throws {
        let logger = Logger(label: "fixture")
        let initializer = broken ? try PoolInitializer(failingInit, arguments: 3) : nil
        let service = try PoolService(workers: 2, method: method, initializer: initializer,
                                      shutdownDeadline: .milliseconds(deadlineMs), logger: logger)
        let pending = try (0..<tasks).map { _ in try service.pool.applyAsync(sleepMs, taskMs) }
        let services: [any Service] = broken ? [service] : [service, SendSIGTERM()]
        let group = cancel
            ? ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, cancellationSignals: [.sigterm], logger: logger))
            : ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm], logger: logger)
        let start = ContinuousClock.now
        do { try await group.run() } catch { say("group threw \((error as? PoolError)?.code.description ?? "\(error)")") }
        let took = ContinuousClock.now - start
        for (i, t) in pending.enumerated() {
            do { say("task \(i) ok \(try await t.value)") } catch let e as PoolError { say("task \(i) \(e.code)") }
        }
        do { _ = try service.pool.applyAsync(sleepMs, 1) } catch { say("after shutdown \(error.code)") }
        say("workers \(service.pool.workerPIDs.count)")
        say("shutdown took ms \(took.components.seconds * 1000 + took.components.attoseconds / 1_000_000_000_000_000)")
    }
}
