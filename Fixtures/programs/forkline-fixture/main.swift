// forkline-fixture: child programs that exit, throw, crash, hang and fork on purpose, for the
// tests. Each scenario prints facts a test asserts on, one per line; the trace (FORKLINE_TRACE)
// is the rest of the oracle.
import Dispatch
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct Number: Codable, Sendable { var n: Int }
struct Behaviour: Codable, Sendable { var name: String }

let work = EntryPoint<Number>("work") { args in
    if args.n == 0 { Tracer.mark("work") }
}

let behave = EntryPoint<Behaviour>("behave") { args in
    try Behaviours.run(args.name)
}

let marksThenSleep = EntryPoint<Number>("marks-then-sleep") { args in
    for i in 0..<args.n { Tracer.mark("m\(i)") }
    print("ready")
    fflush(nil)
    sleep(600)
}

let sleeper = EntryPoint<Number>("sleeper") { args in
    sleep(UInt32(args.n))
}

let asyncWork = EntryPoint<Number>("async-work") { args in
    // A forkserver child may use Dispatch and Swift tasks.
    let done = DispatchSemaphore(value: 0)
    let box = ResultBox()
    Task.detached {
        await box.set(args.n * 2)
        done.signal()
    }
    done.wait()
    let group = DispatchGroup()
    DispatchQueue.global().async(group: group) { Tracer.mark("dispatch ran") }
    group.wait()
}

actor ResultBox {
    var value = 0
    func set(_ v: Int) { value = v }
}

let report = EntryPoint<Number>("report") { _ in
    // What the child sees: its environment, directory, name, parent, and stdin.
    var cwd = [CChar](repeating: 0, count: 4096)
    _ = getcwd(&cwd, cwd.count)
    let input = readLine() ?? "<eof>"
    print("env=\(String(cString: getenv("FORKLINE_X") ?? strdup("<unset>")!))")
    print("home=\(getenv("HOME") == nil ? "<unset>" : "set")")
    print("cwd=\(String(decoding: cwd.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))")
    print("name=\(ChildProcess.current.name)")
    print("parent=\(ChildProcess.parent?.pid ?? -1)")
    print("stdin=\(input)")
    writeStderrLine("to stderr")
}

struct PongerArgs: Codable, Sendable { var conn: Connection }
struct CounterArgs: Codable, Sendable { var counter: SharedValue<Int>; var times: Int }
let incrementer = EntryPoint<CounterArgs>("incrementer") { args in
    for _ in 0..<args.times { args.counter.withLock { $0 += 1 } }
}
struct HolderArgs: Codable, Sendable { var lock: Lock; var ready: Connection }
let holder = EntryPoint<HolderArgs>("holder") { args in
    _ = args.lock.acquire()
    try args.ready.send("holding")
    sleep(600)
}
let ponger = EntryPoint<PongerArgs>("ponger") { args in try Ponger.serve(args.conn) }

// FIXTURE_SKIP_BOOTSTRAP: the program a user writes who forgot bootstrap (the no-bootstrap scenario).
if getenv("FIXTURE_SKIP_BOOTSTRAP") == nil {
    ChildProcess.bootstrap(entries: [work, behave, marksThenSleep, sleeper, asyncWork, report, ponger, incrementer, holder,
                                     silentExit, streamer, silentQueueUser, envDump, crashWithThreads, ignoreTerm]
                                     + SyncScenarios.entries + Queues.entries + QueueSides.entries + QueueDeadSleeper.entries + QueueStreams.entries + poolEntries + CodecScenarios.entries
                                     + ChannelFaults.entries + [WaitRecords.peer] + Hangs.entries
                                     + NetScenarios.entries + PoolBinaryScenarios.entries
                                     + ClusterScenarios.entries + BarrierActionScenarios.entries + PoolAPIScenarios.entries
                                     + TaskRingScenarios.entries + ForkServerParents.entries + ForkServerSession.entries + ExitFlush.entries
                                     + ReplyRingScenarios.entries + SpawnEnvironment.entries + PoolScalarScenarios.entries + SpawnDescriptors.entries)
}

func method(_ s: String) -> StartMethod {
    guard let m = StartMethod(name: s) else {
        writeStderrLine("unknown start method \(s)")
        exit(2)
    }
    return m
}

/// Waits (up to 10 s) until the traced process `pid` has its trace file, which appears once its
/// `start` is recorded; without tracing, waits 50 ms.
func waitForTraceFile(of pid: Int32) {
    guard let dir = getenv(Tracer.environmentVariable).map({ String(cString: $0) }) else {
        usleep(50_000)
        return
    }
    for _ in 0..<2000 {
        if let d = opendir(dir) {
            defer { closedir(d) }
            while let e = readdir(d) {
                let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                if name.hasPrefix("\(pid).") { return }
            }
        }
        usleep(5_000)
    }
}

func writeStderrLine(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

let args = Array(CommandLine.arguments.dropFirst())
guard let scenario = args.first else {
    writeStderrLine("usage: forkline-fixture SCENARIO [METHOD] [N]")
    exit(2)
}
let m = args.count > 1 ? method(args[1]) : .forkserver
let count = args.count > 2 ? Int(args[2]) ?? 1 : 1

func child(_ body: @escaping @Sendable () throws -> Void, entry: EntryPoint<Behaviour>, _ b: String, options: ChildOptions = ChildOptions()) throws -> ChildProcess {
    var o = options
    o.method = m
    if m == .fork { return ChildProcess(options: o, body) }
    return try ChildProcess(entry: entry, arguments: Behaviour(name: b), options: o)
}

switch scenario {
case "start-join":
    var children: [ChildProcess] = []
    for i in 0..<count {
        let c = try ChildProcess(entry: work, arguments: Number(n: i), options: ChildOptions(method: m))
        try c.start()
        children.append(c)
    }
    for c in children {
        let status = try await c.join()
        print("\(c.name) \(status)")
    }
case "statuses":
    for b in Behaviours.all {
        let c = try child({ try Behaviours.run(b) }, entry: behave, b)
        try c.start()
        if b == "sleep" {
            waitForTraceFile(of: c.pid!)  // its start is recorded before the kill, however slow it is
            try c.kill()
        }
        let status = try await c.join()
        print("\(b) \(status)")
    }
case "crash-after-opens":
    let c = try child({ try Behaviours.run("raise-after-opens") }, entry: behave, "raise-after-opens")
    try c.start()
    print("raise-after-opens \(try await c.join())")
case "marks-then-sigkill":
    var o = ChildOptions(method: m, standardOutput: .pipe)
    o.name = "victim"
    let c = try ChildProcess(entry: marksThenSleep, arguments: Number(n: count), options: o)
    try c.start()
    var byte = [UInt8](repeating: 0, count: 6)
    _ = read(c.standardOutput!.fileDescriptor, &byte, 6)  // "ready\n"
    try c.kill()
    print("victim \(try await c.join())")
case "orphans":
    // Starts `count` sleeping children, prints their pids, then waits to be killed.
    var children: [ChildProcess] = []
    for _ in 0..<count {
        let c = try ChildProcess(entry: sleeper, arguments: Number(n: 600), options: ChildOptions(method: m))
        try c.start()
        children.append(c)
    }
    print(children.map { "\($0.pid!)" }.joined(separator: " "))
    fflush(nil)
    sleep(600)
case "cycles":
    /// Descriptor number and target, e.g. "5 -> anon_inode:[pidfd]".
    func openFDs() -> [String] {
        guard let d = opendir("/proc/self/fd") else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard Int(name) != nil else { continue }
            var buf = [CChar](repeating: 0, count: 256)
            let n = readlink("/proc/self/fd/\(name)", &buf, 255)
            out.append("\(name) -> \(n > 0 ? String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?")")
        }
        return out.sorted()
    }
    // Warm up (the forkserver and the join monitor are started once), then count.
    try Cycles.run(1, method: m)
    usleep(50_000)  // let the runtime's lazily created descriptors (Dispatch's) settle first
    let before = openFDs()
    try Cycles.run(count, method: m)
    let after = openFDs()
    print("fds \(before.count) \(after.count)")
    if before != after { print("fd-diff \(Set(after).symmetricDifference(Set(before)).sorted())") }
    print("zombies \(Zombies.count())")
case "threads":
    // Dispatch threads and Swift tasks are running when the forkserver starts its children.
    let spin = DispatchSemaphore(value: 0)
    DispatchQueue.global().async { spin.wait() }
    let background = Task.detached { while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(5)) } }
    var statuses: [ExitStatus] = []
    for i in 0..<count {
        let c = try ChildProcess(entry: asyncWork, arguments: Number(n: i), options: ChildOptions(method: .forkserver))
        try c.start()
        statuses.append(try await c.join())
    }
    background.cancel()
    spin.signal()
    print(statuses.map(\.description).joined(separator: " "))
case "fork-stdio":
    // A thread prints without flushing while fork children start, print a line and exit: the
    // parent's half-full stdout buffer is its own, and no child may print it a second time.
    let printer = DispatchGroup()
    DispatchQueue.global().async(group: printer) {
        for i in 0..<20_000 { print("p \(i)") }
    }
    for i in 0..<count {
        let c = ChildProcess(options: ChildOptions(method: .fork)) { print("child \(i)") }
        try c.start()
        _ = try await c.join()
    }
    printer.wait()
case "errors":
    let c = try ChildProcess(entry: work, arguments: Number(n: 1), options: ChildOptions(method: m))
    do { _ = try await c.join() } catch { print("join-unstarted \(error.code)") }
    try c.start()
    do { try c.start() } catch { print("start-twice \(error.code)") }
    _ = try await c.join()
    // A fork child holds a copy of its own handle: joining it is joining itself.
    let me = ChildProcess {
        do { _ = try SelfHandle.value!.join(timeout: .seconds(1)) } catch let e as SpawnError { print("join-self \(e.code)") }
    }
    SelfHandle.value = me
    try me.start()
    _ = try await me.join()
case "options":
    // Environment, working directory and stdio for one child of the given method.
    let dir = args.count > 2 ? args[2] : "/tmp"
    let input = dir + "/stdin.txt"
    _ = try? "hello from a file\n".withCString { s in
        let f = fopen(input, "w"); fputs(s, f); fclose(f)
    }
    let o = ChildOptions(name: "reporter", method: m, environment: ["FORKLINE_X": "42", "PATH": "/usr/bin:/bin"],
                         workingDirectory: dir, standardInput: .file(input), standardOutput: .pipe,
                         standardError: .file(dir + "/stderr.txt"))
    let c = try ChildProcess(entry: report, arguments: Number(n: 0), options: o)
    try c.start()
    let said = c.standardOutput!.readString()
    print(said, terminator: "")
    print("status=\(try await c.join())")
    print("me=\(getpid())")
case "late-trace":
    // The forkserver is already running when the program turns tracing on in code.
    let before = try ChildProcess(entry: work, arguments: Number(n: 1), options: ChildOptions(method: .forkserver))
    try before.start()
    print("untraced \(try await before.join())")
    try Tracer.start(directory: args[2])
    let after = try ChildProcess(entry: work, arguments: Number(n: 0), options: ChildOptions(method: .forkserver))
    try after.start()
    print("traced \(try await after.join())")
case "pingpong":
    // The parent sends `count` pings over a duplex pipe to a child (any start method), which
    // answers each; the child's end travels in the entry point's arguments.
    let (parentEnd, childEnd) = try Connection.pipe()
    var o = ChildOptions(name: "ponger", method: m)
    o.pass(childEnd)
    let c = try ChildProcess(entry: ponger, arguments: PongerArgs(conn: childEnd), options: o)
    try c.start()
    childEnd.close()
    var answers: [String] = []
    for i in 0..<count {
        answers.append(try await Ponger.ask(parentEnd, i) ?? "<eof>")
    }
    parentEnd.close()
    print("status \(try await c.join())")
    print(answers.count == count && answers.enumerated().allSatisfy { $0.element == "pong \($0.offset)" } ? "answers ok" : "answers \(answers)")
case "shared-counter":
    // `count` children each add 1,000 to a shared counter under its lock.
    let counter = try SharedValue(0)
    var children: [ChildProcess] = []
    for _ in 0..<count {
        var o = ChildOptions(method: m)
        o.pass(counter)
        let c = try ChildProcess(entry: incrementer, arguments: CounterArgs(counter: counter, times: 1000), options: o)
        try c.start()
        children.append(c)
    }
    for c in children { _ = try await c.join() }
    print("total \(Blocking.load(counter))")
case "lock-holder-killed":
    // A child dies holding the lock: the next acquire is told, and the lock works again.
    let lock = try Lock()
    let (mine, theirs) = try Connection.pipe()
    var o = ChildOptions(name: "holder", method: m)
    o.pass(lock, theirs)
    let c = try ChildProcess(entry: holder, arguments: HolderArgs(lock: lock, ready: theirs), options: o)
    try c.start()
    theirs.close()
    let said: String? = try await Ponger.receive(mine)
    print("child \(said ?? "<eof>")")
    print("try while held: \(Blocking.acquire(lock, timeout: .milliseconds(100)))")
    try c.kill()
    print("status \(try await c.join())")
    print("after the kill: \(Blocking.acquire(lock, timeout: .seconds(5)))")
    try lock.release()
    print("again: \(Blocking.acquire(lock, timeout: .seconds(1)))")
    try lock.release()
case "lifecycle":
    // join with a timeout, isAlive, terminate, activeChildren, cpuCount, and a daemon left running.
    let c = try ChildProcess(entry: sleeper, arguments: Number(n: 600), options: ChildOptions(method: m))
    try c.start()
    print("alive=\(c.isAlive)")
    print("active=\(ChildProcess.activeChildren.count)")
    print("timeout=\(String(describing: Lifecycle.joinBriefly(c)))")
    try c.terminate()
    print("status=\(try await c.join())")
    print("alive-after=\(c.isAlive)")
    print("active-after=\(ChildProcess.activeChildren.count)")
    print("cpus=\(ChildProcess.cpuCount)")
    let daemon = try ChildProcess(entry: sleeper, arguments: Number(n: 600), options: ChildOptions(name: "daemon", method: m, daemon: true))
    try daemon.start()
    print("daemon=\(daemon.pid!)")
    // Exit without joining it: the library terminates and reaps it at exit.
case let s where s.hasPrefix("barrier-action-"): try await BarrierActionScenarios.run(s, m)
case let s where s.hasPrefix("poolapi-"): try await PoolAPIScenarios.run(s, m)
case let s where s.hasPrefix("poolscalar-"): try await PoolScalarScenarios.run(s, m)
case _ where SyncScenarios.names.contains(scenario): try SyncScenarios.run(scenario, method: m, count: count)
case "sync-async": try await SyncScenarios.asyncWaits(method: m)
case "crash-ends": try CrashEndings.run(method: m)
case "no-bootstrap": await MissingBootstrap.run(method: m)
case "sigpipe": try await SigPipe.run(method: m)
case "async-slow-bodies": try await SlowBodies.run()
case "queue-async-join": try await QueueAsyncJoin.run()
case "queue-sides": try QueueSides.run(method: m)
case "queue-zombie-holder": try QueueZombieHolder.run(method: m)
case "queue-dead-sleeper": try QueueDeadSleeper.run(method: m)
case "queue-streams": try QueueStreams.run(method: m)
case "queue-record-sizes": try QueueRecordSizes.run(method: m, dir: args.count > 2 ? args[2] : nil)
case "async-reused-fd": try await ReusedDescriptor.run()
case "scoped": await Scoped.run(method: m)
case "foreign-reap": await ForeignReap.run(method: m)
case "scoped-tracing": try await ScopedTracing.run(method: m, dir: args[2])
case "forkserver-setuid": ForkServerLimits.setuid()
case "forkserver-nproc": ForkServerLimits.nproc()
case "forkserver-env": try ForkServerEnv.run(method: m, dir: args[2])
case "spawn-env-order": try SpawnEnvironment.run(method: m, dir: args[2])
case "spawn-fds": try SpawnDescriptors.run(method: m, dir: args[2])
case "forkserver-parents": try ForkServerParents.run()
case "forkserver-session": try ForkServerSession.run()
case "exit-flush": try ExitFlush.run(method: m, directory: args[2])
case "start-faults": try StartFaults.run(count: count)
case let s where s.hasPrefix("queue-") || s.hasPrefix("shm-"): try s.hasPrefix("shm-") ? SharedArrays.run(s, m, count) : Queues.run(s, m, count)
case let s where s.hasPrefix("fault-"): try ChannelFaults.run(s, m, count)
case "wait-records": try WaitRecords.run(method: m)
case let s where s.hasPrefix("hang-"): try Hangs.run(s, method: m)
case let s where s.hasPrefix("pool-remote-"): try await RemotePoolScenarios.run(s, m)
case let s where s.hasPrefix("pool-"): try await PoolScenarios.run(s, m, count)
case let s where s.hasPrefix("codec-"): try await CodecScenarios.run(s, m)
case let s where s.hasPrefix("cluster-"): try await ClusterScenarios.run(s, m, args: args)
case "net-concurrent-handshakes": try await NetConcurrency.run(method: m, dir: args[2])
case "net-fork-child": try await NetForkChild.run(dir: args[2])
case let s where s.hasPrefix("net-"): try await NetScenarios.run(s, method: m, dir: args[2])
case let s where s.hasPrefix("poolbin-"): try await PoolBinaryScenarios.run(s, m)
case let s where s.hasPrefix("taskring-"): try await TaskRingScenarios.run(s, m)
case let s where s.hasPrefix("replyring-"): try await ReplyRingScenarios.run(s, m)
default:
    if TraceFaults.run(scenario, count: count) { break }
    if try TraceGrow.run(scenario, count: count) { break }
    if try await Reliability.run(scenario, method: m, count: count, args: args) { break }
    writeStderrLine("unknown scenario \(scenario)")
    exit(2)
}

enum SelfHandle {
    nonisolated(unsafe) static var value: ChildProcess?
}

enum Cycles {
    static func run(_ count: Int, method m: StartMethod) throws {
        for i in 0..<count {
            let c = try ChildProcess(entry: work, arguments: Number(n: i + 1), options: ChildOptions(method: m))
            try c.start()
            let st = try c.join(timeout: .seconds(30))
            if st != .exited(0) { print("cycle \(i) \(String(describing: st))") }
        }
    }
}

enum Lifecycle {
    static func joinBriefly(_ c: ChildProcess) -> ExitStatus? {
        try? c.join(timeout: .milliseconds(100))
    }
}

enum Ponger {
    /// The parent's side: one ping, one awaited answer.
    static func ask(_ end: Connection, _ ping: Int) async throws -> String? {
        try end.send(ping)
        return try await end.receive(String.self)
    }

    /// A fork child's loop: answer every ping until the parent closes its end.
    static func serve(_ end: Connection) throws {
        while let ping = try end.receive(Int.self) { try end.send("pong \(ping)") }
    }
}

enum Blocking {
    static func load(_ v: SharedValue<Int>) -> Int { v.load() }
    static func acquire(_ l: Lock, timeout: Duration) -> Lock.Acquisition { l.acquire(timeout: timeout) }
}

extension Ponger {
    static func receive(_ c: Connection) async throws -> String? { try await c.receive(String.self) }
}
