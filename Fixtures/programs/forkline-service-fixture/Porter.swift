import ArgumentParser
import Forkline
import ForklineService

#if canImport(Glibc)
import Glibc
#endif

let power = PoolFunction<Arguments2<Int, Int>, Int>("service-power") { (a: Int, b: Int) in
    (0..<b).reduce(1) { r, _ in r * a }
}
let fma = PoolFunction<Arguments3<Int, Int, Int>, Int>("service-fma") { (a: Int, b: Int, c: Int) in a * b + c }
/// Exits 0 when it sees itself named `named-child` with its logical parent (the process that
/// started it; a forkserver child's kernel parent is the server) as `parent`, else 1.
let identityChild = EntryPoint<Int32>("service-identity-child") { parentPid in
    let ok = ChildProcess.current.name == "named-child" && ChildProcess.parent?.pid == parentPid
    exit(ok ? 0 : 1)
}
/// Sleeps `seconds`.
let napper = EntryPoint<UInt32>("service-napper") { seconds in sleep(seconds) }

/// Blocking calls, made from a synchronous function (they are `noasync`).
enum BlockingCalls {
    static func wait(_ items: [Waitable], _ timeout: Duration?) -> [Waitable] { Connection.wait(for: items, timeout: timeout) }
}

/// What a porter of CPython's multiprocessing reaches for: process identity and CPU count, a
/// sentinel wait (child ended or message), async join and receive with timeouts, map_async.
struct Porter: AsyncParsableCommand {
    @Option var method: StartMethod = .spawn

    func run() async throws {
        // activeChildren, current, parent, cpuCount.
        var o = ChildOptions(method: method)
        o.name = "named-child"
        let named = try ChildProcess(entry: identityChild, arguments: getpid(), options: o)
        let nappers = try (0..<2).map { _ in try ChildProcess(entry: napper, arguments: 30, options: ChildOptions(method: method)) }
        for c in [named] + nappers { try c.start() }
        say("named child \(try await named.join())")
        say("active \(ChildProcess.activeChildren.count)")
        say("cpuCount \(ChildProcess.cpuCount)")

        // async join with a timeout: nil while it runs, the status once it ended.
        say("join timeout \(String(describing: try await nappers[0].join(timeout: .milliseconds(200))))")
        for c in nappers { try c.kill() }
        for c in nappers { say("join after kill \(String(describing: try await c.join(timeout: .seconds(30))))") }
        say("active after joins \(ChildProcess.activeChildren.count)")

        // Sentinel: a child that exits, or a message, whichever comes.
        let (mine, theirs) = try Connection.pipe()
        let quitter = try ChildProcess(entry: napper, arguments: 0, options: ChildOptions(method: method))
        try quitter.start()
        let first = BlockingCalls.wait([.connection(mine), .child(quitter)], .seconds(30))
        say("wait 1 \(first == [.child(quitter)])")
        _ = try await quitter.join()
        var passing = ChildOptions()
        passing.pass(theirs)  // a child inherits only the descriptors it is given
        let sender = ChildProcess(name: "sender", options: passing) {
            try theirs.send([1.5, 2.5])
            sleep(30)
        }
        try sender.start()
        let second = BlockingCalls.wait([.child(sender), .connection(mine)], .seconds(30))
        say("wait 2 \(second == [.connection(mine)])")
        say("receive \(String(describing: try await mine.receive([Double].self, timeout: .seconds(30))))")
        do { _ = try await mine.receive([Double].self, timeout: .milliseconds(200)) } catch { say("receive timeout \(error.code)") }
        // Relaying: bytes lose the type, a raw message keeps it.
        let (relayIn, relayOut) = try Connection.pipe()
        try theirs.send([3.5, 4.5])
        try relayIn.sendBytes(try await mine.receiveBytes() ?? [])
        do { _ = try await relayOut.receive([Double].self) } catch { say("relayed bytes \(error.code)") }
        try theirs.send([3.5, 4.5])
        try relayIn.send(try await mine.receiveRaw()!)
        say("relayed raw \(String(describing: try await relayOut.receive([Double].self)))")
        relayIn.close()
        relayOut.close()
        let idle = BlockingCalls.wait([.child(sender), .connection(mine)], .milliseconds(200))
        say("wait 3 \(idle.isEmpty)")
        try sender.kill()
        _ = try await sender.join()
        theirs.close()
        mine.close()

        // An async Condition wait: a fork child changes a shared value under the lock and notifies.
        let condition = try Condition()
        let value = try SharedValue<Int>(0)
        let notifier = ChildProcess(name: "notifier") {
            usleep(100_000)
            condition.withLock { _ in
                value.store(1)
                try? condition.notifyAll()
            }
        }
        try notifier.start()
        say("condition \(try await condition.wait(for: { value.load() == 1 }, timeout: .seconds(30)))")
        say("condition timeout \(try await condition.wait(for: { value.load() == 2 }, timeout: .milliseconds(100)))")
        _ = try await notifier.join()

        // map_async and starmap_async.
        try await withPool(workers: 2, method: method) { pool in
            let squares = try pool.mapAsync(square, 1...5)
            let powers = try pool.starmapAsync(power, [(2, 10), (3, 3)])
            say("mapAsync \(try await squares.value) ready=\(squares.isReady)")
            say("starmapAsync \(try await powers.value(timeout: .seconds(30)))")
            say("starmap of triples \(try await pool.starmap(fma, [(2, 3, 4), (5, 6, 7)]))")
        }
    }
}
