import CForkline
import FoundationEssentials
import ForklineChannels
import ForklineSpawn
import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// The local end of a remote worker: a pool worker process like any other to the driver (its
/// reply ring, its pidfd, its `ready`, its death), that launches one worker through the
/// launcher, accepts its authenticated TCP connection, and relays: the driver's `run` batches
/// go to the remote worker as they are, each reply it sends back is published in the ring.
///
/// So everything the driver does for local workers holds for remote ones unchanged: ordered
/// map, imap, chunks, timeouts and `maxTasksPerChild` (killing or stopping this process ends
/// the TCP connection, which ends the remote worker: ``RemoteWorker``'s watchdog), and a remote
/// worker that dies or whose host vanishes (end of stream, or keep-alive's error within about
/// 25 s) fails only the task it ran, with its host named, and is replaced through the launcher.
enum RemoteProxy {
    struct Lost: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ args: WorkerArguments, _ spec: RemoteSpec) throws {
        let conn = args.connection
        func refuse(_ why: String) {
            try? conn.sendBytes(WorkerMessage.initFailed(why).encode())
        }
        let key: AuthKey
        let listener: Listener
        do {
            key = try AuthKey.read(from: spec.keyFile)
            listener = try Listener(NetworkAddress(host: spec.listenHost, port: 0), key: key, handshakeTimeout: .seconds(30))
        } catch {
            return refuse("remote worker \(spec.slot): \(error.message)")
        }
        let address = NetworkAddress(host: spec.advertisedHost, port: listener.address.port)
        let command = spec.launcher.commandLine(slot: spec.slot, program: spec.program)
        let launched: pid_t
        switch launch(command, RemoteWorkerArguments(driver: address, keyFile: spec.keyFile, slot: spec.slot)) {
        case .success(let pid): launched = pid
        case .failure(let e):
            listener.close()
            return refuse("remote worker \(spec.slot): cannot run \(command[0]) (\(spec.launcher)): \(e)")
        }
        defer { reap(launched) }
        let remote: Connection
        do { remote = try listener.accept(timeout: spec.connectTimeout) } catch {
            listener.close()
            Syscall.signalProcess(launched, SIGTERM)
            return refuse("remote worker \(spec.slot) started with `\(command.joined(separator: " "))` did not connect back to \(address) within \(spec.connectTimeout): \(error.message)")
        }
        listener.close()
        defer { remote.close() }
        guard let hello = try? remote.receive(RemoteHello.self) else {
            return refuse("remote worker \(spec.slot) at \(remote.peerAddress.map(String.init(describing:)) ?? "?") connected, then said nothing")
        }
        let whereabouts = "remote worker pid \(hello.pid) on host \(hello.host) (\(remote.peerAddress.map(String.init(describing:)) ?? "?"))"
        let ready: String?
        do {
            try remote.send(RemoteSetup(pool: args.pool, initializer: args.initializer, initializerArguments: args.initializerArguments))
            ready = try remote.receive(String.self)
        } catch { return refuse("\(whereabouts): \(error.message)") }
        guard ready == "ok" else { return refuse("\(whereabouts): \(ready ?? "closed the connection during its setup")") }

        try conn.sendBytes(WorkerMessage.ready(getpid()).encode())
        guard let ringFD = ChildProcess.inheritedDescriptor(args.ring), let wakeFD = ChildProcess.inheritedDescriptor(args.wake) else {
            throw PoolError(.workerStartFailed, "pool worker \(getpid()): its reply ring or wake-up socket was not passed")
        }
        let out = try Replies(connection: conn, ring: ReplyRing(inherited: ringFD), wake: wakeFD)
        let tracing = Tracer.isEnabled
        func lost(_ task: UInt64, _ why: String) -> Lost {
            let note = RemoteNote.make(host: hello.host, "\(whereabouts) was lost while running task \(task): \(why)")
            try? conn.sendBytes(WorkerMessage.initFailed(note).encode())
            return Lost(description: "\(whereabouts) was lost while running task \(task): \(why)")
        }
        while let bytes = try conn.receiveBytes() {
            guard let message = WorkerMessage.decode(bytes) else {
                throw PoolError(.encoding, "pool worker \(getpid()): a message from the pool could not be decoded")
            }
            guard case .run(let jobs) = message else {
                try? remote.sendBytes(bytes)  // stop: the remote worker ends, then this process
                _ = try? remote.receiveBytes()
                return
            }
            guard let first = jobs.first else { continue }
            do { try remote.sendBytes(bytes) } catch { throw lost(first.task, error.message) }
            var sinceWake = 0
            var i = 0
            while i < jobs.count {
                let job = jobs[i]
                defer { i += 1 }
                if tracing { Tracer.recordWords(.taskBegin, args.pool, job.task) }
                let reply: [UInt8]
                do {
                    guard let r = try remote.receiveBytes() else { throw lost(job.task, "its connection closed (the process or its host died)") }
                    reply = r
                } catch let e as Lost { throw e } catch let e as ChannelError { throw lost(job.task, e.message) }
                guard case .reply(let t, let answer)? = WorkerMessage.decode(reply), t == job.task else {
                    throw lost(job.task, "it answered with something that is not the reply to task \(job.task)")
                }
                let ok: UInt64 = if case .values = answer { 1 } else { 0 }
                if tracing { Tracer.recordWords(.taskEnd, args.pool, job.task, ok) }
                try out.publish(reply)
                sinceWake += 1
                let left = jobs.count - i - 1
                if left == 0 || sinceWake >= left {
                    sinceWake = 0
                    out.wakeDriverIfAsleep()
                }
            }
        }
    }

    /// Runs the launcher's command with this process's environment and the worker's variable.
    static func launch(_ command: [String], _ arguments: RemoteWorkerArguments) -> Result<pid_t, Errno> {
        let json = (try? JSONEncoder().encode(arguments)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        var env: [String] = []
        var p = environ
        while let s = p.pointee {
            let entry = String(cString: s)
            if !entry.hasPrefix(RemoteWorker.variable + "=") { env.append(entry) }
            p += 1
        }
        env.append(RemoteWorker.variable + "=" + json)
        return Syscall.spawnCommand(command, environment: env)
    }

    /// Waits a little for the launched command (srun, sbatch, the worker) to end, then kills it:
    /// the launcher's process never outlives this one's orderly end.
    static func reap(_ pid: pid_t) {
        for i in 0..<100 {
            if case .success(let r) = Syscall.waitpid(pid, options: WNOHANG), r.pid == 0 {
                if i == 50 { Syscall.signalProcess(pid, SIGTERM) }
                usleep(20_000)
                continue
            }
            return
        }
        Syscall.signalProcess(pid, SIGKILL)
        _ = Syscall.waitpid(pid)
    }
}
