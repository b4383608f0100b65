import CForkline
import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// What a spawn child or the forkserver reads at `bootstrap`, from descriptor 3 (length-prefixed,
/// encoded by ``WireWriter``), and what a forkserver request carries for the child.
struct BootstrapPayload: Codable, Sendable {
    enum Role: String, Codable { case child, forkserver }
    var role: Role
    var name: String
    var entry: String
    var arguments: [UInt8]
    var puid: UInt64
    var parentPuid: UInt64
    var parentPid: Int32
    var forkerPuid: UInt64
    var forkSeq: UInt64
    var method: StartMethod
    var traceDirectory: String?
    var forkserverAddress: String?
    /// The parent's numbers of the descriptors passed to the child, in order: the child has them
    /// from descriptor 4 on after spawn (3 holds the payload), from 3 on in a forkserver child.
    var inherited: [Int32]? = nil
}

extension ChildProcess {
    /// The environment variable that tells a re-executed program it is a Forkline child.
    static let bootstrapVariable = "FORKLINE_BOOTSTRAP"
    static let payloadFD: Int32 = 3

    /// Registers the entry points children can run and, in a process that Forkline started with
    /// spawn or as the forkserver, runs that role and never returns. Call it first in `main`.
    ///
    /// In an ordinary run it returns at once (and starts tracing if `FORKLINE_TRACE` is set).
    /// Everything `main` does before `bootstrap` also runs in every spawn child and in the
    /// forkserver, so do nothing there.
    public static func bootstrap(entries: [any AnyEntryPoint]) {
        EntryRegistry.register(entries, fromBootstrap: true)
        if let spec = getenv(remoteWorkerVariable) { runRemoteWorker(String(cString: spec)) }
        guard getenv(bootstrapVariable) != nil else {
            Tracer.startFromEnvironment()
            return
        }
        unsetenv(bootstrapVariable)
        guard let (payload, fds) = readPayload() else {
            writeStderr("forkline: bootstrap: cannot read the start payload from the parent\n")
            fl_exit_now(ChildSetup.bootstrapFailed)
        }
        switch payload.role {
        case .child: runSpawnChild(payload)
        case .forkserver: ForkServer.run(payload, descriptors: fds, control: payloadFD)
        }
    }

    /// Set by a pool's launcher (docs/cluster.md): this process is a remote pool worker.
    static let remoteWorkerVariable = "FORKLINE_REMOTE_WORKER"

    /// Runs ForklinePool's remote worker entry on the JSON the launcher left; never returns.
    static func runRemoteWorker(_ json: String) -> Never {
        unsetenv(remoteWorkerVariable)
        Tracer.startFromEnvironment(origin: remoteOrigin(json))
        guard let entry = EntryRegistry.lookup("forkline-remote-worker") else {
            writeStderr("forkline: started as a remote pool worker, but this program registered no pool function with bootstrap(entries:)\n")
            exit(ChildSetup.bootstrapFailed)
        }
        ChildSetup.runAndExit(name: "remote-worker", { try entry.run(encodedArguments: Array(json.utf8)) }, immediate: false)
    }

    static func readPayload() -> (BootstrapPayload, [Int32])? {
        var header = [UInt8](repeating: 0, count: 4)
        var fds = [Int32](repeating: -1, count: 4)
        var nfds: Int32 = 0
        var got = 0
        while got < 4 {
            let n = header.withUnsafeMutableBytes { h in
                fds.withUnsafeMutableBufferPointer { f in
                    var more: Int32 = 0
                    let r = fl_recv_fds(payloadFD, h.baseAddress! + got, 4 - got, f.baseAddress! + Int(nfds), 4 - nfds, &more)
                    nfds += more
                    return r
                }
            }
            if n <= 0 { return nil }
            got += n
        }
        let length = Int(header.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian })
        guard length < 64 << 20, let body = Syscall.readExactly(payloadFD, length),
              let payload = try? BootstrapPayload(decoding: body) else { return nil }
        return (payload, Array(fds.prefix(Int(nfds))))
    }

    static func runSpawnChild(_ payload: BootstrapPayload) -> Never {
        Sys.close(payloadFD)
        setInherited(payload.inherited ?? [], from: payloadFD + 1)
        ChildSetup.bindLifetime(to: payload.parentPid)
        ChildProcess.becomeChild(name: payload.name, puid: payload.puid, parent: ProcessIdentity(pid: payload.parentPid, name: "", puid: payload.parentPuid))
        ForkServerClient.adopt(address: payload.forkserverAddress)
        runEntry(payload, origin: Tracer.Origin(
            parentPuid: payload.parentPuid, parentPid: payload.parentPid, forkerPuid: payload.forkerPuid,
            forkSeq: payload.forkSeq, method: payload.method, name: payload.name, entry: payload.entry), immediate: false)
    }

    /// Opens the child's trace and runs its entry point; never returns. `runnable` runs the entry
    /// point the forkserver found and cast before it forked, on the child's arguments: its child
    /// then runs none of the lookup's and the cast's code (each region of it a page fault in a
    /// fork child), nor copies the entry's existential (the runtime's value witnesses and a
    /// retain, 5 faults: the closure made before the fork holds it).
    static func runEntry(_ payload: BootstrapPayload, origin: Tracer.Origin, immediate: Bool,
                         runnable: (() throws -> Void)? = nil) -> Never {
        if let dir = payload.traceDirectory {
            do { try Tracer.open(directory: dir, origin: origin, puid: payload.puid) } catch {
                Tracer.warnTracingFailure("forkline: tracing disabled in \(payload.name): \(error)", directory: dir)
            }
        }
        if let runnable { ChildSetup.runAndExit(name: payload.name, runnable, immediate: immediate) }
        guard let entry = EntryRegistry.lookup(payload.entry) else {
            writeStderr("forkline: process \(payload.name): no entry point named '\(payload.entry)' was registered with bootstrap(entries:)\n")
            ProcessExit.run(status: ChildSetup.bootstrapFailed)
            fl_exit_now(ChildSetup.bootstrapFailed)
        }
        ChildSetup.runAndExit(name: payload.name, { try entry.run(encodedArguments: payload.arguments) }, immediate: immediate)
    }

    /// Sends a payload (and descriptors, attached to its first byte) over the bootstrap socket:
    /// the length and the body in one `sendmsg` (the rest, if it sent less, written after).
    static func sendPayload(_ payload: BootstrapPayload, fds: [Int32], on sock: Int32) -> Int32? {
        var w = WireWriter()
        payload.encode(into: &w)
        let body = w.bytes
        var message = [UInt8](repeating: 0, count: 4)
        message.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(body.count).littleEndian, as: UInt32.self) }
        message += body
        return message.withUnsafeBytes { m in
            let r = fds.withUnsafeBufferPointer { f in fl_send_fds(sock, m.baseAddress, m.count, f.baseAddress, Int32(f.count)) }
            if r < 0 { return Int32(-r) }
            return Syscall.writeAll(sock, UnsafeRawBufferPointer(rebasing: m[Int(r)...]))?.rawValue
        }
    }
}
