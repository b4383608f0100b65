// Scenarios for the reliability suite (Tests/ForklineReliabilityTests): faults and bad input
// provoked for real. Each prints facts, one per line, that a test asserts on.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct ConnArgs: Codable, Sendable { var conn: Connection; var n: Int }

/// Exits at once without touching its connection: the parent's blocked `receive` must end.
let silentExit = EntryPoint<ConnArgs>("silent-exit") { _ in }

struct SilentQueueArgs: Codable, Sendable { var queue: Queue<Int> }

/// Exits at once without putting anything: the parent's blocked `get` must end.
let silentQueueUser = EntryPoint<SilentQueueArgs>("silent-queue-user") { _ in }

/// Sends `n` small messages (0..<n), then exits (its end closes with it).
let streamer = EntryPoint<ConnArgs>("streamer") { args in
    for i in 0..<args.n { try args.conn.send(i) }
}

enum Reliability {
    /// Runs `name`; false when this file does not know it.
    static func run(_ name: String, method m: StartMethod, count: Int, args: [String]) async throws -> Bool {
        switch name {
        case "trace-fills":
            // Records `count` marks (about 40 bytes each) into a trace directory on a small file
            // system, then starts and joins a child: the program must run on regardless.
            for i in 0..<count { Tracer.mark(i % 2 == 0 ? "filling" : "the disk") }
            let c = try ChildProcess(entry: work, arguments: Number(n: 1), options: ChildOptions(method: m))
            try c.start()
            print("child \(try await c.join())")
            print("done")
        case "child-exits-during-recv":
            // The child exits without sending; the parent is already blocked in receive.
            let (mine, theirs) = try Connection.pipe()
            var o = ChildOptions(name: "silent", method: m)
            o.pass(theirs)
            let c = try ChildProcess(entry: silentExit, arguments: ConnArgs(conn: theirs, n: 0), options: o)
            try c.start()
            theirs.close()
            let got = try mine.receiveBlocking()
            print("recv \(got.map { "\($0)" } ?? "eof")")
            print("status \(try await c.join())")
        case "child-exits-during-get":
            // The only other user of the queue exits without putting; the parent blocks in get
            // with a timeout: a queue has no single peer whose exit would be an end (as in Python).
            let queue = try Queue<Int>()
            var o = ChildOptions(name: "silent", method: m)
            o.pass(queue)
            let c = try ChildProcess(entry: silentQueueUser, arguments: SilentQueueArgs(queue: queue), options: o)
            try c.start()
            do {
                let v = try await queue.get(timeout: .seconds(1))
                print("get \(v)")
            } catch {
                print("get \(error.code)")
            }
            print("status \(try await c.join())")
        case "under-fire":
            // 8 children and a pool of 2 workers busy with long tasks; prints every pid, then
            // waits to be killed or interrupted (the test sends the signal).
            var children: [ChildProcess] = []
            for _ in 0..<8 {
                let c = try ChildProcess(entry: sleeper, arguments: Number(n: 600), options: ChildOptions(method: m))
                try c.start()
                children.append(c)
            }
            let pool = try Pool(workers: 2, method: m)
            let tasks = try (0..<2).map { _ in try pool.applyAsync(poolSleepMs, 60_000) }
            var waited = 0
            while pool.workerPIDs.count < 2 && waited < 10_000 {
                usleep(10_000)
                waited += 10
            }
            print((children.map { $0.pid! } + pool.workerPIDs).map(String.init).joined(separator: " "))
            fflush(nil)
            for t in tasks { _ = try? await t.value }
        case "many-messages":
            // A child streams `count` small messages over a one-way pipe; the parent counts them.
            let (reader, writer) = try Connection.pipe(duplex: false)
            var o = ChildOptions(name: "streamer", method: m)
            o.pass(writer)
            let c = try ChildProcess(entry: streamer, arguments: ConnArgs(conn: writer, n: count), options: o)
            try c.start()
            writer.close()
            var received = 0, sum = 0, inOrder = true
            while let v = try reader.receiveBlocking() {
                inOrder = inOrder && v == received
                received += 1
                sum &+= v
            }
            print("received \(received) sum \(sum) in-order \(inOrder)")
            print("status \(try await c.join())")
        case "rapid-starts":
            // `count` starts and joins in quick succession, four children alive at a time.
            var joined = 0, failed = 0
            var batch: [ChildProcess] = []
            for i in 0..<count {
                let c = try ChildProcess(entry: work, arguments: Number(n: i + 1), options: ChildOptions(method: m))
                try c.start()
                batch.append(c)
                if batch.count == 4 || i == count - 1 {
                    for b in batch {
                        if try await b.join() == .exited(0) { joined += 1 } else { failed += 1 }
                    }
                    batch.removeAll()
                }
            }
            print("joined \(joined) failed \(failed)")
            print("zombies \(Zombies.count())")
        case "descriptor-limit":
            // Leaves only a few descriptors free, then starts children until `start` fails: the
            // error must be clear and nothing may leak.
            let before = openDescriptors()
            var lim = rlimit()
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
            lim.rlim_cur = rlim_t(before.count + 6)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
            var filler: [Int32] = []
            while true {
                let fd = open("/dev/null", O_RDONLY | O_CLOEXEC)
                if fd < 0 { break }
                filler.append(fd)
            }
            // Free two: too few for a child's stdio pipes (and, for spawn, its payload pipe).
            for _ in 0..<2 { close(filler.removeLast()) }
            var o = ChildOptions(method: m, standardOutput: .pipe, standardError: .pipe)
            o.name = "starved"
            let c = try ChildProcess(entry: work, arguments: Number(n: 1), options: o)
            do {
                try c.start()
                print("started \(try await c.join())")
            } catch {
                print("error \(error.code) errno \(error.errno.map { "\($0)" } ?? "-")")
                print("message \(error.message)")
            }
            for fd in filler { close(fd) }
            // A leak is a descriptor open now that was not before (the runtime may have closed
            // one). Dispatch creates its timerfd and eventfd lazily, on its own threads; Forkline
            // creates neither.
            let leaked = openDescriptors().subtracting(before).filter { !$0.hasSuffix("[timerfd]") && !$0.hasSuffix("[eventfd]") }
            print("leaked \(leaked.sorted())")
            lim.rlim_cur = lim.rlim_max
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &lim)
            // The library works again once descriptors are free.
            let again = try ChildProcess(entry: work, arguments: Number(n: 1), options: ChildOptions(method: m))
            try again.start()
            print("after \(try await again.join())")
        default:
            return false
        }
        return true
    }

    /// "number -> target" for each open descriptor but the listing's own.
    static func openDescriptors() -> Set<String> {
        guard let d = opendir("/proc/self/fd") else { return [] }
        defer { closedir(d) }
        let own = dirfd(d)
        var out: Set<String> = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let fd = Int32(name), fd != own else { continue }
            var buf = [CChar](repeating: 0, count: 256)
            let n = readlink("/proc/self/fd/\(name)", &buf, 255)
            out.insert("\(name) -> \(n > 0 ? String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?")")
        }
        return out
    }
}

extension Connection {
    /// The blocking receive, callable from the async scenarios (which must block in `recv`).
    fileprivate func receiveBlocking() throws -> Int? { try receive(Int.self) }
}
