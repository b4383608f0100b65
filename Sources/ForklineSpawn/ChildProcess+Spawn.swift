import CForkline
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

extension ChildProcess {
    /// posix_spawn of /proc/self/exe: a fresh process runs `main` up to `bootstrap`, which reads
    /// its payload from descriptor 3 and runs the entry point.
    func startSpawn(_ entry: any AnyEntryPoint, _ args: [UInt8], _ io: inout ChildDescriptors, pid myPid: Int32) throws(SpawnError) -> Started {
        let me = ChildProcess.current(pid: myPid)
        let backtrace = Backtrace.captureIfTracing(skipping: 1)
        let (ours, theirs) = try Sys.socketPair("\(name): creating the bootstrap channel")
        defer { Sys.close(ours) }
        let pending = Tracer.reserve(.fork, [
            .int(0), .uint(puid), .uint(UInt64(StartMethod.spawn.rawValue)), .string(entry.name),
            .uint(0), .uint(0), .backtrace(backtrace),
        ])
        let pid = Self.spawnSelf(io: io.child, payloadFD: theirs, environment: options.environment,
                                 cwd: options.workingDirectory, extraEnvironment: [:], inherited: options.inheritedDescriptors)
        Sys.close(theirs)
        guard pid > 0 else {
            pending?.cancel()
            throw .system("posix_spawn", -pid, "\(name): spawning /proc/self/exe")
        }
        pending?.setInt32(pid, at: 0)
        pending?.commit()
        let payload = BootstrapPayload(
            role: .child, name: name, entry: entry.name, arguments: args, puid: puid, parentPuid: me.puid,
            parentPid: me.pid, forkerPuid: me.puid, forkSeq: pending?.seq ?? 0, method: .spawn,
            traceDirectory: Tracer.directory, forkserverAddress: ForkServerClient.addressIfRunning,
            inherited: options.inheritedDescriptors)
        // A child that died before reading its payload is not an error here: join reports it.
        _ = Self.sendPayload(payload, fds: [], on: ours)
        return try watch(pid)
    }

    /// posix_spawn of this program with the bootstrap variable set and `payloadFD` as fd 3.
    /// Returns the pid or -errno.
    ///
    /// With no `environment` given, the child's is this process's `environ` as it is, in its
    /// order, with the bootstrap and trace variables (and `extraEnvironment`) put in place of
    /// the entries of those names (new names at the end): its strings are passed as they are, not parsed into a
    /// dictionary and copied back (35 variables were ~75 allocations a start).
    static func spawnSelf(io: [Int32], payloadFD: Int32, environment: [String: String]?, cwd: String?,
                          extraEnvironment: [String: String], inherited: [Int32] = []) -> Int32 {
        var overrides: [(String, String)] = []
        func set(_ k: String, _ v: String) {
            if let i = overrides.firstIndex(where: { $0.0 == k }) { overrides[i].1 = v } else { overrides.append((k, v)) }
        }
        set(bootstrapVariable, "1")
        if let dir = Tracer.directory { set(Tracer.environmentVariable, dir) }
        for (k, v) in extraEnvironment { set(k, v) }
        let argv0 = CommandLine.arguments.first ?? "forkline-child"
        var spawnIO = fl_spawn_io(fds: (io[0], io[1], io[2]))
        func spawn(_ e: UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32 {
            withCStrings([argv0]) { a in
                inherited.withUnsafeBufferPointer { x in
                    let n = Int32(x.count)
                    if let cwd {
                        return cwd.withCString { fl_spawn("/proc/self/exe", a, e, &spawnIO, payloadFD, ChildProcess.payloadFD, x.baseAddress, n, $0) }
                    }
                    return fl_spawn("/proc/self/exe", a, e, &spawnIO, payloadFD, ChildProcess.payloadFD, x.baseAddress, n, nil)
                }
            }
        }
        if let environment {
            var env = environment
            for (k, v) in overrides { env[k] = v }
            return withCStrings(env.map { "\($0.key)=\($0.value)" }, spawn)
        }
        let added = overrides.map { strdup("\($0.0)=\($0.1)") }
        defer { for p in added { free(p) } }
        var envp: [UnsafeMutablePointer<CChar>?] = []
        envp.reserveCapacity(64)
        var placed = [Bool](repeating: false, count: added.count)
        var p = environ
        while let entry = p.pointee {
            // An entry of a name set here is replaced where it stands (once; a repeat is dropped).
            if let i = added.firstIndex(where: { sameName(entry, $0!) }) {
                if !placed[i] { envp.append(added[i]) }
                placed[i] = true
            } else {
                envp.append(entry)
            }
            p += 1
        }
        for i in added.indices where !placed[i] { envp.append(added[i]) }
        envp.append(nil)
        return envp.withUnsafeBufferPointer { spawn($0.baseAddress!) }
    }

    /// Whether two `NAME=value` C strings name the same variable.
    static func sameName(_ a: UnsafePointer<CChar>, _ b: UnsafePointer<CChar>) -> Bool {
        var i = 0
        while true {
            let x = a[i], y = b[i]
            if x == 0x3D || y == 0x3D || x == 0 || y == 0 { return x == y && x == 0x3D }
            if x != y { return false }
            i += 1
        }
    }

    static func currentEnvironment() -> [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    let ptrs = strings.map { strdup($0) } + [nil]
    defer { for p in ptrs { free(p) } }
    return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
}
