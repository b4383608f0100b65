// Scenario for the owner's one connection to its forkserver: the process that started the server
// asks for all its children over one kept connection instead of one connection per child, from one
// thread and from several at once; a fork child of the owner asks over connections of its own.
import Forkline
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Wrong statuses seen by the threads of ``ForkServerSession/run()``.
let sessionErrors = Atomic<Int>(0)

/// Exits with its number.
let sessionExit = EntryPoint<Number>("session-exit") { args in exit(Int32(args.n)) }

enum ForkServerSession {
    static let entries: [any AnyEntryPoint] = [sessionExit]

    /// Connections the server holds open to its clients: the sockets bound to its address
    /// (`@forkline-<owner pid>-...` in /proc/net/unix) other than the listening one.
    static func serverConnections() -> Int {
        guard let f = fopen("/proc/net/unix", "r") else { return -1 }
        defer { fclose(f) }
        let tag = "@forkline-\(getpid())-"
        var n = 0
        var buf = [CChar](repeating: 0, count: 1024)
        while fgets(&buf, 1024, f) != nil {
            let line = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            // Num RefCount Protocol Flags Type St Inode Path: St 01 is listening, 03 connected.
            let fields = line.split(separator: " ")
            if fields.count >= 8, fields[7].hasPrefix(tag), fields[5] == "03" { n += 1 }
        }
        return n
    }

    /// Starts and joins one forkserver child that exits with `code`; its status as text.
    static func startJoin(_ code: Int32) -> String {
        do {
            let c = try ChildProcess(entry: sessionExit, arguments: Number(n: Int(code)))
            try c.start()
            return try c.join(timeout: nil).map { "\($0)" } ?? "none"
        } catch let e as SpawnError {
            return "error \(e.code)"
        } catch {
            return "error \(error)"
        }
    }

    /// Prints, after 1 and after 30 sequential starts, then after 4 threads x 10 starts: the
    /// connections the server holds, the statuses that were wrong, and this process's
    /// descriptors; then a fork child's forkserver child's status, and the zombies left.
    static func run() throws {
        var wrong = 0
        if startJoin(3) != "exited(3)" { wrong += 1 }
        let baseline = PoolScenarios.openDescriptors()
        print("after 1: connections \(serverConnections()) wrong \(wrong)")
        for i in 0..<29 where startJoin(Int32(i % 7)) != "exited(\(i % 7))" { wrong += 1 }
        print("after 30: connections \(serverConnections()) wrong \(wrong) descriptors \(PoolScenarios.openDescriptors() - baseline)")
        var threads: [pthread_t] = []
        for t in 0..<4 {
            var th = pthread_t()
            let box = Unmanaged.passRetained(ThreadArg(t: t))
            pthread_create(&th, nil, { p in
                let a = Unmanaged<ThreadArg>.fromOpaque(p!).takeRetainedValue()
                for i in 0..<10 {
                    let code = Int32((a.t * 10 + i) % 11)
                    if ForkServerSession.startJoin(code) != "exited(\(code))" { sessionErrors.add(1, ordering: .relaxed) }
                }
                return nil
            }, box.toOpaque())
            threads.append(th)
        }
        for th in threads { pthread_join(th, nil) }
        print("after threads: connections \(serverConnections()) wrong \(sessionErrors.load(ordering: .relaxed)) descriptors \(PoolScenarios.openDescriptors() - baseline)")
        // A fork child of the owner is not the owner: its forkserver children are relayed.
        let forked = ChildProcess {
            let s = ForkServerSession.startJoin(6)
            exit(s == "exited(6)" ? 0 : 1)
        }
        try forked.start()
        print("fork child status \(try forked.join(timeout: nil).map { "\($0)" } ?? "none")")
        print("zombies \(Zombies.count())")
        // The server dies (the only child left): the next starts fail, none hangs.
        if let server = childPids().first {
            kill(server, SIGKILL)
            while childPids().contains(server) && !isZombie(server) { usleep(1000) }
            print("server killed: \(startJoin(1)) then \(startJoin(2))")
        }
    }

    /// This process's children, from /proc.
    static func childPids() -> [pid_t] {
        guard let d = opendir("/proc") else { return [] }
        defer { closedir(d) }
        var out: [pid_t] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let pid = pid_t(name), let fields = stat(pid) else { continue }
            if fields.count > 1, pid_t(fields[1]) == getpid() { out.append(pid) }
        }
        return out
    }

    static func isZombie(_ pid: pid_t) -> Bool { stat(pid)?.first == "Z" }

    /// The fields of /proc/PID/stat after the command name: state, ppid, ...
    static func stat(_ pid: pid_t) -> [String]? {
        guard let f = fopen("/proc/\(pid)/stat", "r") else { return nil }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 512)
        guard fgets(&buf, 512, f) != nil else { return nil }
        let line = String(decoding: buf.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let close = line.lastIndex(of: ")") else { return nil }
        return line[line.index(after: close)...].split(separator: " ").map(String.init)
    }

    final class ThreadArg: Sendable {
        let t: Int
        init(t: Int) { self.t = t }
    }
}
