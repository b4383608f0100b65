// The Python Pool API a porter reaches for (`forkline-fixture poolapi-* METHOD`): callback= and
// error_callback= on the async calls, starmap of any arity, and the remote backtrace of a task
// that throws. Each prints one fact a line; the trace is the rest of the oracle.
import Forkline
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

struct DeepError: Error, CustomStringConvertible {
    var depth: Int
    var description: String { "failed \(depth) levels down" }
}

struct TypedError: Error, CustomStringConvertible {
    var description: String { "typed failure" }
}

enum Deep {
    @inline(never) static func throwHere(_ n: Int) throws -> Int { throw DeepError(depth: n) }
    @inline(never) static func middle(_ n: Int) throws -> Int { try throwHere(n + 1) + 1 }
    @inline(never) static func top(_ n: Int) throws -> Int { try middle(n + 1) + 1 }
    @inline(never) static func typed() throws(TypedError) -> Int { throw TypedError() }
}

let poolDeepThrow = PoolFunction<Int, Int>("poolapi-deep-throw") { n in try Deep.top(n) }
let poolTypedThrow = PoolFunction<Int, Int>("poolapi-typed-throw") { _ in try Deep.typed() }
let poolSum4 = PoolFunction<Arguments<Int, Int, Int, Int>, Int>("poolapi-sum4") { a, b, c, d in a * 1000 + b * 100 + c * 10 + d }
let poolDescribe5 = PoolFunction<Arguments<String, Int, Double, Bool, [UInt8]>, String>("poolapi-describe5") { s, i, d, b, bytes in
    "\(s)-\(i)-\(d)-\(b)-\(bytes.count)"
}
let poolFma = PoolFunction<Arguments3<Int, Int, Int>, Int>("poolapi-fma") { a, b, c in a * b + c }

/// What the callbacks saw, in the order they ran (each with the pid it ran in).
final class CallbackLog: Sendable {
    let lines = Mutex<[String]>([])
    func add(_ s: String) { lines.withLock { $0.append(s + (getpid() == driverPid ? "@driver" : "@elsewhere")) } }
    var all: [String] { lines.withLock { $0 } }
    let driverPid = getpid()
}

enum PoolAPIScenarios {
    static let entries: [any AnyEntryPoint] = [poolDeepThrow, poolTypedThrow, poolSum4, poolDescribe5, poolFma]

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        switch scenario {
        case "poolapi-callbacks": try await callbacks(m)
        case "poolapi-starmap": try await starmaps(m)
        case "poolapi-remote-backtrace": try await remoteBacktrace(m)
        case "poolapi-abandon-prefetched": try await abandonPrefetched(m)
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }

    static func callbacks(_ m: StartMethod) async throws {
        try await withPool(workers: 2, method: m) { pool in
            let log = CallbackLog()
            let ok = try pool.applyAsync(poolSquare, 7, callback: { log.add("apply ok \($0)") }, errorCallback: { log.add("apply error \($0.code)") })
            print("apply \(try await ok.value) seen \(log.all)")
            let bad = try pool.applyAsync(poolFailAt3, 3, callback: { log.add("apply ok \($0)") }, errorCallback: { log.add("apply error \($0.code)") })
            do { _ = try await bad.value } catch let e as PoolError { print("apply threw \(e.code) seen \(log.all.count)") }
            let all = try pool.mapAsync(poolSquare, 1...5, chunksize: 2, callback: { log.add("map ok \($0)") }, errorCallback: { log.add("map error \($0.code)") })
            print("map \(try await all.value) seen \(log.all.count)")
            let failing = try pool.mapAsync(poolFailAt3, 1...5, chunksize: 1, callback: { log.add("map ok \($0)") },
                                            errorCallback: { log.add("map error \($0.code)") })
            do { _ = try await failing.value } catch let e as PoolError { print("map threw \(e.code) seen \(log.all.count)") }
            let pairs = try pool.starmapAsync(poolPower, [(2, 3), (3, 2)], callback: { log.add("starmap ok \($0)") })
            print("starmap \(try await pairs.value) seen \(log.all.count)")
            let fours = try pool.starmapAsync(poolSum4, [(1, 2, 3, 4)], callback: { log.add("starmap4 ok \($0)") })
            print("starmap4 \(try await fours.value) seen \(log.all.count)")
            // Once per call: nothing more comes later.
            try await Task.sleep(for: .milliseconds(100))
            for line in log.all { print("callback \(line)") }
        }
    }

    static func starmaps(_ m: StartMethod) async throws {
        try await withPool(workers: 2, method: m) { pool in
            print("pairs \(try await pool.starmap(poolPower, [(2, 10), (3, 3)]))")
            print("triples \(try await pool.starmap(poolFma, [(2, 3, 4), (5, 6, 7)]))")
            print("fours \(try await pool.starmap(poolSum4, [(1, 2, 3, 4), (5, 6, 7, 8), (9, 0, 9, 0)], chunksize: 2))")
            let fives = try await pool.starmap(poolDescribe5, [("a", 1, 0.5, true, [1, 2, 3]), ("b", -2, 2.25, false, [])])
            print("fives \(fives)")
            let viaMap = try await pool.map(poolSum4, [Arguments(4, 3, 2, 1)])
            print("map of Arguments \(viaMap)")
        }
    }

    static func remoteBacktrace(_ m: StartMethod) async throws {
        try await withPool(workers: 1, method: m) { pool in
            for (label, f) in [("deep", poolDeepThrow), ("typed", poolTypedThrow)] {
                do {
                    _ = try await pool.apply(f, 1)
                    print("\(label) did not throw")
                } catch let e as PoolError {
                    print("\(label) \(e.code) type=\(e.errorType ?? "-") description=\(e.errorDescription ?? "-")")
                    print("\(label) frames \(e.remoteBacktrace?.count ?? 0)")
                    for line in e.remoteBacktrace ?? [] { print("\(label) frame \(line)") }
                    for line in "\(e)".split(separator: "\n") { print("\(label) text \(line)") }
                }
            }
        }
    }

    /// PoolCancellation.abandon: one worker holds a 400 ms task and one queued behind it; the
    /// caller gives up; the worker must not run the one it has not begun. A later call's task
    /// runs as usual.
    static func abandonPrefetched(_ m: StartMethod) async throws {
        try await withPool(workers: 1, method: m, prefetch: 4, cancellation: .abandon) { pool in
            try await pool.waitUntilReady()
            let call = try pool.mapAsync(poolSleepMs, [400, 1], chunksize: 1)
            let waiter = Task { try await call.value }
            try await Task.sleep(for: .milliseconds(100))
            waiter.cancel()
            do { _ = try await waiter.value; print("abandoned call returned") } catch is CancellationError {
                print("abandoned call cancelled")
            }
            print("next call \(try await pool.apply(poolSquare, 5))")
        }
    }
}
