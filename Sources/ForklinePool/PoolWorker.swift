import CForkline
import ForklineSystem
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
    /// The reply ring's descriptor (the parent's number; passed to the child).
    var ring: Int32
    /// The driver's wake-up socket (the parent's number; passed to the child).
    var wake: Int32
    /// Set for a pool with remote workers: this process is a remote worker's local end (``RemoteProxy``).
    var remote: RemoteSpec? = nil
    /// The worker's ``CancelBoard`` (the parent's number; passed to the child).
    var cancels: Int32? = nil
    /// The worker's ``TaskRing`` (the parent's number; passed to the child); nil: its tasks come
    /// over the connection (a remote worker's local end).
    var tasks: Int32? = nil
}

/// The worker side of a pool: a synchronous loop (fork workers cannot run Dispatch or Swift
/// concurrency) that runs the initializer, says `ready`, then runs each task it is sent, in
/// order, recording `taskBegin`/`taskEnd` and publishing the reply in its ``ReplyRing`` before it
/// begins the next task (so a reply is never lost with the worker, and a dead worker's first
/// unanswered task is the one it was running). It wakes a sleeping driver only when it has done
/// at least as many tasks of its batch since the last wake-up as it has left, or all of them.
/// It exits when told to stop or when the parent's end closes.
enum PoolWorker {
    /// The worker's entry point, registered along with any ``PoolFunction``.
    static let entry = Entry()

    /// The worker loop as an entry point whose arguments are in the binary codec (docs/codec.md):
    /// an `EntryPoint`'s are JSON, where the initializer's arguments were an array of numbers.
    struct Entry: RunnableEntryPoint {
        let name = "forkline-pool-worker"

        func run(encodedArguments: [UInt8]) throws {
            let args: WorkerArguments
            do { args = try BinaryDecoder().decode(WorkerArguments.self, from: encodedArguments) } catch {
                throw PoolError(.workerStartFailed, "pool worker \(getpid()): cannot decode its start arguments: \(error)")
            }
            try PoolWorker.run(args)
        }
    }

    /// A worker's start arguments as ``Entry`` reads them.
    static func encodeArguments(_ args: WorkerArguments) throws(PoolError) -> [UInt8] {
        do { return try BinaryEncoder().encode(args) } catch {
            throw PoolError(.encoding, "encoding a pool worker's start arguments: \(error)")
        }
    }

    static func run(_ args: WorkerArguments) throws {
        if let spec = args.remote { return try RemoteProxy.run(args, spec) }
        let conn = args.connection
        keepLargeBuffers()
        if let name = args.initializer {
            do {
                guard let e = ChildProcess.registeredEntry(name) as? any BinaryArgumentsEntry else {
                    throw PoolError(.workerStartFailed, "no entry point named '\(name)' is registered: list the initializer in bootstrap(entries:)")
                }
                try e.run(binaryArguments: args.initializerArguments ?? [])
            } catch {
                try? conn.sendBytes(WorkerMessage.initFailed("initializer '\(name)' threw \(type(of: error)): \(error)").encode())
                return
            }
        }
        try conn.sendBytes(WorkerMessage.ready(getpid()).encode())
        guard let ringFD = ChildProcess.inheritedDescriptor(args.ring), let wakeFD = ChildProcess.inheritedDescriptor(args.wake) else {
            throw PoolError(.workerStartFailed, "pool worker \(getpid()): its reply ring or wake-up socket was not passed")
        }
        let out = try Replies(connection: conn, ring: ReplyRing(inherited: ringFD), wake: wakeFD)
        // A crash from here on reaches the driver (signal, address, backtrace), traced or not.
        out.ring.registerCrashReports()
        // A task that throws comes back with the stack of its throw site (ThrowSites).
        ThrowSites.install()
        let cancels = args.cancels.flatMap { ChildProcess.inheritedDescriptor($0) }.flatMap { try? CancelBoard(inherited: $0) }
        var tasks: TaskRing?
        if let fd = args.tasks {
            guard let inherited = ChildProcess.inheritedDescriptor(fd) else {
                throw PoolError(.workerStartFailed, "pool worker \(getpid()): its task ring was not passed")
            }
            tasks = try TaskRing(inherited: inherited)
        }
        var functions: [String: any AnyPoolFunction] = [:]
        let tracing = Tracer.isEnabled
        while let message = try nextMessage(conn, tasks) {
            guard case .run(let jobs) = message else { return }
            var sinceWake = 0
            // An index loop: `enumerated()` would instantiate a generic type that the process the
            // worker was forked from may never have (PoolWorker.rehearse).
            var i = 0
            while i < jobs.count {
                let job = jobs[i]
                defer { i += 1 }
                let reply: TaskReply
                if let cancels, cancels.isDropped(job.task) {
                    // Its caller was cancelled (PoolCancellation.abandon): not run. Traced as a
                    // taskEnd with ok 2 and no taskBegin.
                    if tracing { Tracer.recordWords(.taskEnd, args.pool, job.task, 2) }
                    reply = .dropped
                } else {
                    reply = runJob(job, pool: args.pool, functions: &functions, tracing: tracing)
                }
                try out.publish(WorkerMessage.reply(job.task, reply))
                sinceWake += 1
                let left = jobs.count - i - 1
                if left == 0 || sinceWake >= left {
                    sinceWake = 0
                    out.wakeDriverIfAsleep()
                }
            }
        }
    }
}

extension PoolWorker {
    /// The pool's next message: from the task ring when the worker has one, else from the
    /// connection. Nil when the pool's end closed.
    static func nextMessage(_ conn: Connection, _ tasks: TaskRing?) throws -> WorkerMessage? {
        if let tasks { return try tasks.next(connection: conn) }
        guard let bytes = try conn.receiveBytes() else { return nil }
        return try TaskRing.decode(bytes[...])
    }

    /// Has this worker's malloc keep freed buffers of up to 32 MiB for reuse instead of handing
    /// them back to the kernel: glibc maps blocks over 128 KiB afresh and trims the heap's top,
    /// so every 256 KiB input decoded and output encoded cost 64 page faults and zeroed pages
    /// (the profile's largest item for such tasks). A worker is the pool's process; the cost is
    /// that its heap stays at its high-water mark.
    static func keepLargeBuffers() {
        fl_malloc_keep_large(32 << 20, 64 << 20)
    }

    /// Runs one task, between its `taskBegin` and `taskEnd`.
    static func runJob(_ job: WorkerMessage.Job, pool: UInt64, functions: inout [String: any AnyPoolFunction], tracing: Bool) -> TaskReply {
        if tracing { Tracer.recordWords(.taskBegin, pool, job.task) }
        let reply: TaskReply
        if let f = functions[job.function] ?? (ChildProcess.registeredEntry(job.function) as? any AnyPoolFunction) {
            functions[job.function] = f
            reply = f.runChunk(job.payload, pool: pool, task: job.task)
        } else {
            reply = .unknownFunction(job.function)
        }
        let ok: UInt64 = if case .values = reply { 1 } else { 0 }
        if tracing { Tracer.recordWords(.taskEnd, pool, job.task, ok) }
        return reply
    }
}

/// A worker's way back to the driver: the reply ring, the connection for replies too large for
/// the ring, and the driver's wake-up socket.
final class Replies {
    let connection: Connection
    let ring: ReplyRing
    let wake: Int32
    /// Each reply is built here (and copied into the ring): one buffer for all, no fresh pages.
    var scratch: [UInt8] = []

    init(connection: Connection, ring: ReplyRing, wake: Int32) {
        self.connection = connection
        self.ring = ring
        self.wake = wake
    }

    /// Publishes one reply: into the ring (with its `send` event when tracing, as the connection
    /// would record it), or, when larger than ``ReplyRing/largest``, as a marker in the ring and
    /// then a frame on the connection (the driver reads the frame when it meets the marker).
    func publish(_ message: WorkerMessage) throws {
        let endNs = fl_monotonic_ns()
        let size = message.encodedSize
        if size + ReplyRing.recordHeader > ReplyRing.largest {
            ReplyRing.record(marker: true, puid: 0, seq: 0, endNs: endNs, message: nil, into: &scratch)
            try put(scratch)
            message.encode(room: Connection.frameHeaderRoom, into: &scratch)
            try connection.sendBytes(framed: &scratch)
            trimScratch()
            return
        }
        let pending = Tracer.reserveWords(.send, connection.channel, UInt64(size))
        pending?.commit()
        ReplyRing.record(marker: false, puid: pending == nil ? 0 : Tracer.processID, seq: pending?.seq ?? 0,
                         endNs: endNs, message: message, into: &scratch)
        try put(scratch)
    }

    /// Lets a buffer grown for a reply larger than the ring go (the ring's bound keeps the rest).
    func trimScratch() {
        if scratch.capacity > ReplyRing.largest { scratch = [] }
    }

    /// How long a worker whose reply ring is full sleeps before it looks again (ns): the driver,
    /// woken, drains the ring in microseconds; a shorter pause only burns the CPU it needs.
    static var ringFullPauseNs: Int { 50_000 }

    /// Appends a record, waiting for room (waking the driver) while the ring is full.
    func put(_ record: [UInt8]) throws {
        while !ring.put(record) {
            wakeDriverIfAsleep()
            var ts = timespec(tv_sec: 0, tv_nsec: Self.ringFullPauseNs)
            _ = nanosleep(&ts, nil)
            // The driver gone (end of file on the connection), or the task closed this worker's
            // descriptors (the pool saw its connection end): nobody will drain the ring.
            if TaskRing.peerClosed(connection) {
                throw PoolError(.workerDied, "pool worker \(getpid()): its connection to the pool ended (or a task closed it) while its reply ring was full")
            }
        }
    }

    /// Announces the replies published so far, and wakes the driver if it said it sleeps (one
    /// byte on its wake-up socket).
    func wakeDriverIfAsleep() {
        guard ring.announce() else { return }
        let b: UInt8 = 2
        // closable: a task may have closed the worker's descriptors (EBADF: the pool saw its end).
        _ = withUnsafeBytes(of: b) { Syscall.send(wake, $0, flags: Int32(MSG_DONTWAIT), closable: true) }
    }
}
