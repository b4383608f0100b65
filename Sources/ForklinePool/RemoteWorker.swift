import CForkline
import ForklineChannels
import ForklineSpawn
import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// The remote side of a pool worker: this program, started by a launcher with
/// `FORKLINE_REMOTE_WORKER` set, which `ChildProcess.bootstrap(entries:)` notices and runs
/// this entry for (docs/cluster.md, "The worker side").
///
/// It reads the key from its file, connects back to the address it was given, passes the
/// handshake, says where it runs, runs the pool's initializer, then runs each task of each
/// `run` batch in order and sends its reply over the connection (the reply ring is shared
/// memory and cannot cross hosts). A watchdog thread ends the process as soon as the
/// connection hangs up, even in the middle of a task: a killed, timed-out or retired worker's
/// local end takes its remote worker with it. It records its trace where `FORKLINE_TRACE`
/// points on its host.
enum RemoteWorker {
    /// The environment variable a launched worker finds its ``RemoteWorkerArguments`` in (JSON).
    static let variable = "FORKLINE_REMOTE_WORKER"

    static let entry = EntryPoint<RemoteWorkerArguments>("forkline-remote-worker") { args in try run(args) }

    static func run(_ a: RemoteWorkerArguments) throws {
        let key = try AuthKey.read(from: a.keyFile)
        let conn = try Client.connect(to: a.driver, key: key, timeout: .seconds(60))
        Watchdog.start(conn.fileDescriptors[0])
        try conn.send(RemoteHello(host: Syscall.hostName(), pid: getpid()))
        guard let setup = try conn.receive(RemoteSetup.self) else { return }
        if let name = setup.initializer {
            do {
                guard let e = ChildProcess.registeredEntry(name) else {
                    throw PoolError(.workerStartFailed, "no entry point named '\(name)' is registered: list the initializer in bootstrap(entries:)")
                }
                try e.run(encodedArguments: setup.initializerArguments ?? [])
            } catch {
                try? conn.send("initializer '\(name)' threw \(type(of: error)): \(error)")
                return
            }
        }
        try conn.send("ok")
        var functions: [String: any AnyPoolFunction] = [:]
        while let bytes = try conn.receiveBytes() {
            guard let message = WorkerMessage.decode(bytes) else {
                throw PoolError(.encoding, "remote pool worker \(getpid()): a message from the pool could not be decoded")
            }
            guard case .run(let jobs) = message else { return }
            for job in jobs {
                let reply: TaskReply
                if let f = functions[job.function] ?? (ChildProcess.registeredEntry(job.function) as? any AnyPoolFunction) {
                    functions[job.function] = f
                    reply = f.runChunk(job.payload, pool: setup.pool, task: job.task)
                } else {
                    reply = .unknownFunction(job.function)
                }
                try conn.sendBytes(WorkerMessage.reply(job.task, reply).encode())
            }
        }
    }
}

/// Ends the process when its connection to the pool hangs up.
enum Watchdog {
    static func start(_ fd: Int32) {
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            Syscall.waitHangUp(Int32(Int(bitPattern: raw) - 1))
            // The pool is gone (or retired this worker): end now, whatever the task is doing.
            ProcessExit.run(status: 0)
            fl_exit_now(0)
        }, UnsafeMutableRawPointer(bitPattern: Int(fd) + 1))
        if rc == 0 { pthread_detach(thread) }
    }
}
