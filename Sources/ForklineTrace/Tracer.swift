import CForkline
@_exported import ForklineTraceFormat
import ForklineSystem
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The trace recorder of this process.
///
/// Tracing is on when the environment has `FORKLINE_TRACE=<directory>` (children inherit it), or
/// after ``start(directory:)``. Each process writes its own file, `<pid>.<puid>.flt`, in that
/// directory, through a memory-mapped buffer: recording an event is a copy, not a system call,
/// and everything recorded survives SIGKILL of the process.
public enum Tracer {
    /// The environment variable that turns tracing on.
    public static let environmentVariable = "FORKLINE_TRACE"

    /// Who started this process, as its `start` event records it.
    package struct Origin: Sendable, Hashable {
        package var parentPuid: UInt64
        package var parentPid: Int32
        /// The process that recorded the `fork` (the parent, or the forkserver).
        package var forkerPuid: UInt64
        package var forkSeq: UInt64
        package var method: StartMethod
        package var name: String
        package var entry: String

        package init(parentPuid: UInt64, parentPid: Int32, forkerPuid: UInt64, forkSeq: UInt64,
                    method: StartMethod, name: String, entry: String) {
            self.parentPuid = parentPuid
            self.parentPid = parentPid
            self.forkerPuid = forkerPuid
            self.forkSeq = forkSeq
            self.method = method
            self.name = name
            self.entry = entry
        }

        /// The origin of a process Forkline did not start.
        package static func root(name: String = "main") -> Origin {
            Origin(parentPuid: 0, parentPid: getppid(), forkerPuid: 0, forkSeq: 0, method: .root, name: name, entry: "")
        }

        /// The origin of a pool's remote worker: a launcher started it on its host for the pool
        /// worker process `localEnd` (its logical parent, on the driver's host).
        package static func remote(name: String, localEnd: UInt64, entry: String) -> Origin {
            Origin(parentPuid: localEnd, parentPid: getppid(), forkerPuid: 0, forkSeq: 0, method: .remote, name: name, entry: entry)
        }
    }

    package struct State {
        var puid: UInt64 = Tracer.makePuid()
        var pid: Int32 = getpid()
        var directory: String?
        var path: String?
        var initialized = false
        var exitRecorded = false
        var warned = false
    }

    package static let state = ForkSafeLock(State())

    /// This process's unique id (the `puid` of its events).
    ///
    /// Read without the state's lock once the id is fixed (a traced pool stamps it on every
    /// message it sends): ``knownPuid`` mirrors `state.puid` from its first assignment on.
    public static var processID: UInt64 {
        let known = knownPuid.load(ordering: .relaxed)
        return known != 0 ? known : state.withLock { $0.puid }
    }

    /// `state.puid` once ``open(directory:origin:puid:)`` or ``adopt(puid:)`` set it (each
    /// stores both under the state's lock); 0 before. A fork child copies it with the state.
    static let knownPuid = Atomic<UInt64>(0)

    /// The directory being traced into, or nil when tracing is off.
    public static var directory: String? { state.withLock { $0.directory } }

    /// The path of this process's trace file, or nil when tracing is off.
    public static var filePath: String? { state.withLock { $0.path } }

    /// True while events are being recorded.
    public static var isEnabled: Bool { fl_trace_enabled() != 0 }

    /// Turns tracing on for this process (and, through ForklineSpawn, for the children it starts
    /// from now on), writing into `directory`, which is created with any missing parents.
    ///
    /// - Throws: ``TraceError`` when the directory or the file cannot be created.
    public static func start(directory: String) throws(TraceError) {
        try open(directory: directory, origin: .root())
    }

    /// Reads `FORKLINE_TRACE` and starts tracing if it names a directory (`%h` in it stands for
    /// this host's name, so processes on several hosts sharing one file system each write their
    /// own directory: `FORKLINE_TRACE=/shared/trace/%h`). Idempotent; called by
    /// ForklineSpawn's `bootstrap` and before the first child starts.
    public static func startFromEnvironment() { startFromEnvironment(origin: .root()) }

    /// As ``startFromEnvironment()``, recording `origin` in the `start` event (a remote worker's).
    package static func startFromEnvironment(origin: Origin) {
        guard let dir = getenv(environmentVariable).map({ String(cString: $0) }), !dir.isEmpty else {
            state.withLock { $0.initialized = true }
            return
        }
        let already = state.withLock { s in
            defer { s.initialized = true }
            return s.initialized
        }
        if already { return }
        do {
            try open(directory: expandingHost(dir), origin: origin)
        } catch {
            warnTracingFailure("forkline: tracing disabled: \(error)", directory: dir)
        }
    }

    /// Opens this process's file and records its `start` (and `modules`) event. Used for the root
    /// process and by ForklineSpawn in new children, which pass their origin and assigned puid.
    package static func open(directory: String, origin: Origin, puid: UInt64? = nil) throws(TraceError) {
        ProcessExit.install()
        let pid = fl_getpid()
        let id: UInt64 = state.withLock { s in
            if let puid { s.puid = puid }
            knownPuid.store(s.puid, ordering: .relaxed)
            s.pid = pid
            s.initialized = true
            return s.puid
        }
        if fl_trace_enabled() != 0 { return }
        try makeDirectories(directory)
        // The first process of its host's directory (a remote worker is one on its node).
        let rooted = origin.method == .root || origin.method == .remote
        if rooted { resetTreeWarning(directory) }  // a new run: its own warning
        let path = "\(directory)/\(pid).\(hex16(id)).\(TraceFormat.fileExtension)"
        let rc = fl_trace_open(path, id, pid, getppid(), fl_monotonic_ns(), fl_realtime_ns(), hostID)
        if rc != 0 { throw TraceError(operation: "open", path: path, errno: -rc) }
        state.withLock { s in
            s.directory = directory
            s.path = path
            s.exitRecorded = false
        }
        _ = fl_unwind_load()
        fl_crash_install()
        record(.start, [
            .uint(origin.parentPuid), .int(Int64(origin.parentPid)), .uint(origin.forkerPuid),
            .uint(origin.forkSeq), .uint(UInt64(origin.method.rawValue)), .string(origin.name), .string(origin.entry),
        ])
        if origin.method != .fork {  // a fork child shares its parent's mappings
            record(.modules, [.modules(Module.current())])
        }
        let linked = fl_trace_link()
        if linked != 0 {
            state.withLock { s in
                s.directory = nil
                s.path = nil
            }
            throw TraceError(operation: "link", path: path, errno: -linked)
        }
        if rooted { writeHostFile(directory: directory) }
    }

    /// Creates `directory` and any missing parents (as `mkdir -p`); another process creating
    /// one at the same moment is fine.
    static func makeDirectories(_ directory: String) throws(TraceError) {
        if mkdir(directory, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT else { throw TraceError(operation: "mkdir", path: directory, errno: errno) }
        var parts = directory.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast()
        let parent = parts.joined(separator: "/")
        if !parent.isEmpty && parent != directory { try makeDirectories(parent) }
        if mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw TraceError(operation: "mkdir", path: directory, errno: errno)
        }
    }

    /// Takes on the identity a parent assigned to this new process (traced or not).
    package static func adopt(puid: UInt64) {
        state.withLock { s in
            s.puid = puid
            knownPuid.store(puid, ordering: .relaxed)
            s.pid = fl_getpid()
        }
    }

    /// Records an event; returns its sequence number, or nil when tracing is off.
    @discardableResult
    package static func record(_ kind: EventKind, _ args: [TraceValue]) -> UInt64? {
        guard let pending = reserve(kind, args) else { return nil }
        pending.commit()
        return pending.seq
    }

    /// Records a user annotation, visible in `replay show` and assertable in tests.
    ///
    /// This is the cheapest event: a reservation, a copy of the label's bytes, and a store.
    public static func mark(_ label: StaticString) {
        // No fl_trace_enabled() first: the one C call looks at the state itself.
        markBytes(UnsafeRawBufferPointer(start: label.utf8Start, count: label.utf8CodeUnitCount))
    }

    /// Records a user annotation with a run-time label.
    public static func mark(_ label: String) {
        guard fl_trace_enabled() != 0 else { return }
        // A native string's bytes are read in place; others (bridged, lazily decoded) are made
        // contiguous in a copy first.
        if label.utf8.withContiguousStorageIfAvailable({ markBytes(UnsafeRawBufferPointer($0)) }) != nil { return }
        var copy = label
        copy.withUTF8 { markBytes(UnsafeRawBufferPointer($0)) }
    }

    /// A label longer than a string's u16 count is recorded cut to 65,535 bytes, followed by an
    /// `eventTruncated` that names it.
    @inline(__always)
    private static func markBytes(_ u: UnsafeRawBufferPointer) {
        // A label that fits (every usual one) is not looked at: the prefix's search is a call
        // into another module.
        let n = u.count <= 0xFFFF ? u.count : PayloadCodec.utf8Prefix(u, 0xFFFF)
        var seq: UInt64 = 0
        // Reserved, filled and published in one step under the recorder's lock.
        switch fl_trace_record_counted(EventKind.mark.rawValue, u.baseAddress, UInt32(n), &seq) {
        case 1: if n != u.count { reportTruncation(.mark, needed: 2 + u.count, seq: seq) }
        case 0: return
        default: reportFailure()
        }
    }

    /// Records this process's `exit` event and closes its file (normal exit paths).
    package static func recordExit(code: Int32) {
        let first = state.withLock { s in
            defer { s.exitRecorded = true }
            return !s.exitRecorded
        }
        guard first else { return }
        // Untraced (most fork children): nothing to build. The argument array and the event
        // table it is sized by were the first of their kind in such a child, ~20 page faults on
        // its way to `_exit` (perf -e page-faults, forkline-bench --start --faults).
        guard fl_trace_enabled() != 0 else { return fl_trace_close() }
        // The exit is the last record: reserving it turns recording off for every other thread.
        let args: [TraceValue] = [.int(Int64(code))]
        if let p = fl_trace_reserve_final(EventKind.exit.rawValue, UInt32(PayloadCodec.size(of: .exit, args))) {
            PayloadCodec.encode(.exit, args, into: p)
            fl_trace_commit(p)
        }
        fl_trace_close()
    }

    /// Traces `body`: turns tracing on into `directory` (as ``start(directory:)``), runs `body`,
    /// and turns it off again, whatever `body` does. The process's file then ends with a
    /// `traceCut` event whose errno is 0 (stopped on purpose), so `replay check` knows that what
    /// the process did afterwards was not recorded. Children started inside the scope are traced
    /// to their end. When tracing was on already (`FORKLINE_TRACE`), `body` just runs and tracing
    /// stays on.
    ///
    /// - Throws: ``TraceError`` when the directory or the file cannot be created (then `body`
    ///   does not run), or what `body` throws.
    public static func withTracing<R>(directory: String, _ body: () throws -> R) throws -> R {
        let started = try startScope(directory)
        defer { if started { stopScope() } }
        return try body()
    }

    /// As ``withTracing(directory:_:)``, for an async `body`.
    public static func withTracing<R>(directory: String, _ body: () async throws -> R) async throws -> R {
        let started = try startScope(directory)
        defer { if started { stopScope() } }
        return try await body()
    }

    static func startScope(_ directory: String) throws(TraceError) -> Bool {
        if isEnabled { return false }
        try start(directory: directory)
        return true
    }

    static func stopScope() {
        record(.traceCut, [.int(0), .int(0)])
        stop()
    }

    /// Turns tracing off in this process and closes its file, without an `exit` event (the
    /// process goes on untraced; children started from now on are untraced too). For tests and
    /// tools that trace a part of a run; ``start(directory:)`` may turn it on again.
    package static func stop() {
        fl_trace_close()
        state.withLock { s in
            s.directory = nil
            s.path = nil
        }
    }

    /// Forgets the parent's recorder in a freshly forked child (before it opens its own file).
    package static func forgetAfterFork() {
        fl_trace_forget_after_fork()
        state.withLock { s in
            s.pid = fl_getpid()
            s.path = nil
            s.exitRecorded = false
        }
    }

    /// Warns (once per process tree) that tracing stopped, naming why, if it did.
    package static func reportFailure() {
        let err = fl_trace_failure()
        guard err != 0 else { return }
        warnTracingFailure("forkline: tracing stopped: \(String(cString: strerror(err))) (errno \(err)); the trace records where it was cut", directory: directory)
    }

    static func warnOnce(_ message: String) {
        let first = state.withLock { s in
            defer { s.warned = true }
            return !s.warned
        }
        if first { writeStderr(message + "\n") }
    }
}

/// Writes to standard error without buffering (safe in fork children).
package func writeStderr(_ s: String) {
    var s = s
    s.withUTF8 { u in _ = Syscall.writeAll(2, UnsafeRawBufferPointer(u)) }
}

/// Tracing could not start.
public struct TraceError: Error, Sendable, CustomStringConvertible {
    public var operation: String
    public var path: String
    public var errno: Int32

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
