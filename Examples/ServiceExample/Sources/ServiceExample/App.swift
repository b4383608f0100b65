import ArgumentParser
import Forkline
import ForklineService
import Hummingbird
import Logging
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// The work a request asks for: the sum of the squares of 1...n, in a worker process.
let sumOfSquares = PoolFunction<Int, Int>("sum-of-squares") { n in
    (1...max(1, n)).reduce(0) { $0 &+ $1 &* $1 }
}

/// Sleeps `ms` milliseconds: a slow request.
let slow = PoolFunction<Int, Int>("slow") { ms in
    usleep(UInt32(max(0, ms)) * 1000)
    return ms
}

/// Dies by the signal it is given (SIGSEGV by default): what a crashing native library does.
let crash = PoolFunction<Int32, Int32>("crash") { signal in
    raise(signal)
    return signal
}

/// `service-example --port 8080 --workers 2`: POST /work (body: n) answers the sum of squares;
/// POST /slow (body: ms) sleeps that long in a worker;
/// POST /crash makes a worker die and answers 500 naming the signal; a full pool answers 503.
/// SIGTERM or SIGINT shut it down gracefully: the HTTP server drains, then the pool.
@main
struct ServiceExample: ForklineCommand {
    static let forklineEntries: [any AnyEntryPoint] = [sumOfSquares, crash, slow]

    @Option(help: "The port on 127.0.0.1 (0: any free port; the one chosen is printed).")
    var port = 8080
    @Option(help: "Worker processes.")
    var workers = 2
    @Option(help: "Tasks the pool holds before it answers 503.")
    var maxPending = 64
    @Option(help: "How workers start: fork, spawn or forkserver.")
    var method: StartMethod = .forkserver
    @Option(help: "When a client hangs up on a running task: kill (its worker is replaced) or abandon (it runs on).")
    var cancellation = "kill"

    func run() async throws {
        let logger = Logger(label: "service-example")
        let pools = try PoolService(workers: workers, method: method, maxPending: maxPending, whenFull: .throw,
                                    cancellation: cancellation == "abandon" ? .abandon : .killWorker, shutdownDeadline: .seconds(10), logger: logger)
        let pool = pools.pool
        try await pool.waitUntilReady()

        let router = Router()
        router.post("/work") { request, _ -> String in
            let body = try await request.body.collect(upTo: 1 << 16)
            guard let n = Int(String(buffer: body).trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw HTTPError(.badRequest, message: "the body must be an integer")
            }
            return "\(try await answer { try await pool.apply(sumOfSquares, n) })\n"
        }
        router.post("/slow") { request, _ -> String in
            // A client that hangs up cancels the handler (Hummingbird's inbound-close
            // cancellation); the pool's cancellation policy then kills or abandons the task.
            try await request.body.consumeWithCancellationOnInboundClose { body in
                let bytes = try await body.collect(upTo: 1 << 16)
                let ms = Int(String(buffer: bytes).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 1000
                return "\(try await answer { try await pool.apply(slow, ms) })\n"
            }
        }
        router.post("/crash") { _, _ -> String in
            "\(try await answer { try await pool.apply(crash, SIGSEGV) })\n"
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { channel in
                print("listening on \(channel.localAddress?.port ?? -1)")
                fflush(nil)
            },
            logger: logger)
        // The pool first: a ServiceGroup shuts down in reverse order, so requests drain first.
        let group = ServiceGroup(services: [pools, app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        print("stopped; workers left: \(pool.workerPIDs.count)")
    }
}

/// Runs a pool call, turning its failures into HTTP answers: a dead worker is a 500 that names
/// the signal, a full pool a 503.
func answer<T: Sendable>(_ call: () async throws -> T) async throws -> T {
    do { return try await call() } catch let e as PoolError {
        switch e.code {
        case .workerDied:
            // ExitStatus names the signal: "signaled(SIGSEGV)".
            let how = e.signal.map { "\(ExitStatus.signaled($0))" } ?? "exited with code \(e.exitCode ?? -1)"
            throw HTTPError(.internalServerError, message: "the worker running this request died: \(how)")
        case .overloaded: throw HTTPError(.serviceUnavailable, message: "busy: try again later")
        default: throw HTTPError(.internalServerError, message: "\(e.code): \(e.message)")
        }
    }
}
