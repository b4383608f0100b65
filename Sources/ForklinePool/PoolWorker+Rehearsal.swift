import CForkline
import ForklineSystem
import ForklineChannels
import ForklineSpawn
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

extension PoolWorker {
    /// A fork worker's whole life: the loop, then its `exit` event and `_exit`, without the
    /// process's exit hooks. They join the children it started and shut down its forkserver
    /// connection, and a fork worker has neither; but their first run in a fork child instantiates
    /// types the parent never used (seen: a worker waiting forever on the runtime's conformance
    /// lock in `ForkServerClient.shutdownAtExit`, 1 run in about 1,000 of `pool-retire-kill`).
    static func runForked(_ args: WorkerArguments) -> Never {
        var code: Int32 = 0
        do { try run(args) } catch {
            let line = Array("forkline: pool worker (pid \(getpid())) failed: \(error)\n".utf8)
            _ = line.withUnsafeBytes { Syscall.writeAll(2, $0) }
            code = 1
        }
        fflush(nil)
        if Tracer.isEnabled { Tracer.recordExit(code: code) }
        fl_exit_now(code)
    }

    /// In the parent, before it forks a worker: runs once, around a task of `function` with
    /// `payload`, what a fork worker runs on its way to and through its tasks (the messages it
    /// decodes and encodes, the function lookup and its table, the decoding of the inputs and
    /// the encoding of the outputs), so that every generic type and conformance they need is
    /// already instantiated in the process a worker is forked from.
    ///
    /// Why: the Swift runtime instantiates a generic type's metadata, or caches a conformance,
    /// under a lock of its own the first time a process needs it (later look-ups take no lock).
    /// A fork child has one thread; if another thread of the parent held such a lock at the
    /// fork (seen: a caller's thread instantiating an `Array` type just as a replacement worker
    /// was forked, issue 10 item 3), the child's first look-up of a type under that lock waits
    /// forever. Rehearsed in the parent, the child's look-ups find what they need and take no
    /// lock. The body of the function itself is not run (the user's own code in a fork worker
    /// runs that risk still: docs/pool.md).
    static func rehearse(_ function: String, payload: [UInt8]) {
        var functions: [String: any AnyPoolFunction] = [:]
        let found = ChildProcess.registeredEntry(function) as? any AnyPoolFunction
        if let found { functions[function] = found }
        let job = WorkerMessage.Job(task: 0, function: function, payload: payload[...])
        if case .run(let jobs)? = WorkerMessage.decode(WorkerMessage.run([job]).encode()), let first = jobs.first {
            functions[first.function]?.rehearse(first.payload)
        }
        for reply in [TaskReply.values([]), .mixed([]), .unknownFunction(function), .badInput(""), .dropped] {
            let record = ReplyRing.record(marker: false, puid: 0, seq: 0, endNs: 0, message: WorkerMessage.reply(0, reply))
            _ = WorkerMessage.decode(record[ReplyRing.recordHeader...])
            _ = ReplyRing.decodeReply(record[ReplyRing.recordHeader...])
        }
        _ = WorkerMessage.decode(WorkerMessage.ready(0).encode())
        _ = WorkerMessage.decode(WorkerMessage.stop.encode())
        _ = WorkerMessage.decode(WorkerMessage.initFailed("").encode())
        // What ForklineSpawn runs in a fork child around the worker: the inherited-descriptor
        // table it fills, and the loops of the exit hooks.
        var inherited: [Int32: Int32] = [:]
        for fd: Int32 in [3] { inherited[fd] = fd }
        for _ in stride(from: 0, through: 0, by: -1) {}
        // ForklineSpawn's blocking-thread table, which a fork child creates after the fork.
        let jobs: [() -> Void] = [{}]
        _ = jobs.count
        let children: [UInt64: ChildProcess] = [:]
        _ = children.values.contains { _ in false }
        _ = receiveRehearsed
        _ = taskRingRehearsed
        ThrowSites.rehearse()
    }

    /// A task ring's way from the driver to a worker, once per process: a `run` and a `stop`
    /// posted and taken, as a worker takes its tasks.
    static let taskRingRehearsed: Void = {
        guard let ring = try? TaskRing(), let (a, b) = try? Connection.pipe() else { return }
        defer {
            ring.closeDescriptor()
            a.close()
            b.close()
        }
        var scratch: [UInt8] = []
        let job = WorkerMessage.Job(task: 0, function: "", payload: [UInt8]()[...])
        let optional: TaskRing? = ring
        for message in [WorkerMessage.run([job]), .stop] {
            _ = ring.post(message, channel: a.channel, scratch: &scratch)
            ring.announce()
            _ = try? PoolWorker.nextMessage(b, optional)
        }
        _ = ring.flushBacklog()
        _ = TaskRing.peerClosed(b)
    }()

    /// One message over a connection of its own, received as a worker receives its tasks (the
    /// driver reads its workers in another way): once per process. Traced as any message is.
    static let receiveRehearsed: Void = {
        guard let (a, b) = try? Connection.pipe() else { return }
        try? a.sendBytes(WorkerMessage.stop.encode())
        _ = try? b.receiveBytes()
        a.close()
        b.close()
    }()
}
