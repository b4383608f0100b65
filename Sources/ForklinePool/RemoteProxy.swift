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
        let me = ChildProcess.current
        switch launch(command, RemoteWorkerArguments(driver: address, keyFile: spec.keyFile, slot: spec.slot, worker: me.name, localEnd: me.puid)) {
        case .success(let pid): launched = pid
        case .failure(let e):
            listener.close()
            return refuse("remote worker \(spec.slot): cannot run \(command[0]) (\(spec.launcher)): \(e)")
        }
        var launcherEnded: Int32? = nil  // its wait status, once reaped here
        defer { if launcherEnded == nil { reap(launched) } }
        let remote: Connection
        switch accept(listener, within: spec.connectTimeout, launched: launched, ended: &launcherEnded) {
        case .success(let c): remote = c
        case .failure(let error):
            listener.close()
            if let status = launcherEnded, status != 0 {
                return refuse("remote worker \(spec.slot): its launcher `\(command.joined(separator: " "))` \(Self.describe(status)) before its worker connected back to \(address)")
            }
            // Not once reaped (sbatch exits 0 after submitting): its pid may be another's now.
            if launcherEnded == nil { Syscall.signalProcess(launched, SIGTERM) }
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
            try? conn.sendBytes(WorkerMessage.initFailed(RemoteNote.make(host: hello.host, "\(whereabouts) was lost while running it: \(why)")).encode())
            return Lost(description: "\(whereabouts) was lost while running task \(task): \(why)")
        }
        // Pipelined: a batch from the driver is forwarded as soon as it comes, while earlier
        // tasks still run remotely, so the remote worker never waits a round trip for work.
        var pending: [UInt64] = []  // forwarded, in order, not answered yet
        var sinceWake = 0
        while true {
            let ready = Connection.wait([conn, remote], timeout: nil)
            if ready.contains(where: { $0 === conn }) {
                guard let bytes = try conn.receiveBytes() else { return }  // the pool is gone
                guard let message = WorkerMessage.decode(bytes) else {
                    throw PoolError(.encoding, "pool worker \(getpid()): a message from the pool could not be decoded")
                }
                guard case .run(let jobs) = message else {
                    try? remote.sendBytes(bytes)  // stop: the remote worker ends, then this process
                    _ = try? remote.receiveBytes()
                    return
                }
                guard let first = jobs.first else { continue }
                do { try remote.sendBytes(bytes) } catch { throw lost(pending.first ?? first.task, error.message) }
                if pending.isEmpty, tracing { Tracer.recordWords(.taskBegin, args.pool, first.task) }
                pending += jobs.map(\.task)
            }
            guard ready.contains(where: { $0 === remote }) else { continue }
            let reply: [UInt8]
            do {
                guard let r = try remote.receiveBytes() else {
                    throw lost(pending.first ?? 0, "its connection closed (the process or its host died)")
                }
                reply = r
            } catch let e as Lost { throw e } catch let e as ChannelError { throw lost(pending.first ?? 0, e.message) }
            guard let head = pending.first, let message = WorkerMessage.decode(reply),
                  case .reply(let t, let answer) = message, t == head else {
                throw lost(pending.first ?? 0, "it sent something that is not the reply to its next task")
            }
            let ok: UInt64 = if case .values = answer { 1 } else { 0 }
            if tracing { Tracer.recordWords(.taskEnd, args.pool, head, ok) }
            try out.publish(message)
            pending.removeFirst()
            if let next = pending.first, tracing { Tracer.recordWords(.taskBegin, args.pool, next) }
            sinceWake += 1
            if pending.isEmpty || sinceWake >= pending.count {
                sinceWake = 0
                out.wakeDriverIfAsleep()
            }
        }
    }

    /// The first peer that passes the handshake within `timeout`: a peer that fails it (a stray
    /// connection, a wrong key) is refused and the wait goes on. The last refusal is the error
    /// when nobody passed.
    ///
    /// `launched` (the launcher's command) is looked at between slices of at most 500 ms: when
    /// it ended with a failure (a non-zero status or a signal: srun refused, the node is dead)
    /// before anyone connected, the wait ends at once with its status in `ended` (it is reaped).
    /// A command that exits 0 (sbatch, once it has submitted) is reaped and the wait goes on.
    static func accept(_ listener: Listener, within timeout: Duration, launched: pid_t, ended: inout Int32?) -> Result<Connection, ChannelError> {
        let end = fl_monotonic_ns() &+ timeout.clampedNanoseconds
        var launcherRunning = true
        while true {
            let left = min(end &- min(end, fl_monotonic_ns()), 500_000_000)
            do { return .success(try listener.accept(timeout: .nanoseconds(Int64(clamping: left)))) } catch {
                if error.code == .closed || fl_monotonic_ns() >= end { return .failure(error) }
                if launcherRunning, case .success(let r) = Syscall.waitpid(launched, options: WNOHANG), r.pid == launched {
                    launcherRunning = false
                    ended = r.status
                    if r.status != 0 { return .failure(error) }
                }
            }
        }
    }

    /// "exited with status N" or "was killed by signal N", from a wait status.
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        return signal == 0 ? "exited with status \((status >> 8) & 0xff)" : "was killed by signal \(signal)"
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
