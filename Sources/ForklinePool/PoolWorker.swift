import ForklineChannels
import ForklineSpawn
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// What a worker is started with.
struct WorkerArguments: Codable, Sendable {
    var connection: Connection
    var pool: UInt64
    var initializer: String?
    var initializerArguments: [UInt8]?
}

/// The worker side of a pool: a synchronous loop (fork workers cannot run Dispatch or Swift
/// concurrency) that runs the initializer, says `ready`, then runs each task it is sent, in
/// order, recording `taskBegin`/`taskEnd` and sending the reply before it begins the next task.
/// It exits when told to stop or when the parent's end closes.
enum PoolWorker {
    /// The worker's entry point, registered along with any ``PoolFunction``.
    static let entry = EntryPoint<WorkerArguments>("forkline-pool-worker") { args in try run(args) }

    static func run(_ args: WorkerArguments) throws {
        let conn = args.connection
        if let name = args.initializer {
            do {
                guard let e = ChildProcess.registeredEntry(name) else {
                    throw PoolError(.workerStartFailed, "no entry point named '\(name)' is registered: list the initializer in bootstrap(entries:)")
                }
                try e.run(encodedArguments: args.initializerArguments ?? [])
            } catch {
                try? conn.sendBytes(WorkerMessage.initFailed("initializer '\(name)' threw \(type(of: error)): \(error)").encode())
                return
            }
        }
        try conn.sendBytes(WorkerMessage.ready(getpid()).encode())
        var functions: [String: any AnyPoolFunction] = [:]
        let tracing = Tracer.isEnabled
        while let bytes = try conn.receiveBytes() {
            guard let message = WorkerMessage.decode(bytes) else {
                throw PoolError(.encoding, "pool worker \(getpid()): a message from the pool could not be decoded")
            }
            guard case .run(let jobs) = message else { return }
            for job in jobs {
                if tracing { Tracer.record(.taskBegin, [.uint(args.pool), .uint(job.task)]) }
                let reply: TaskReply
                if let f = functions[job.function] ?? (ChildProcess.registeredEntry(job.function) as? any AnyPoolFunction) {
                    functions[job.function] = f
                    reply = f.runChunk(job.payload, pool: args.pool, task: job.task)
                } else {
                    reply = .unknownFunction(job.function)
                }
                let ok: UInt64 = if case .values = reply { 1 } else { 0 }
                if tracing { Tracer.record(.taskEnd, [.uint(args.pool), .uint(job.task), .uint(ok)]) }
                try conn.sendBytes(WorkerMessage.reply(job.task, reply).encode())
            }
        }
    }
}
