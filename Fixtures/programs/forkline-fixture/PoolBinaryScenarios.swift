// Pool scenarios for the binary codec beyond plain values (issue 14 item 1): a chunk with failed
// items, and an initializer's arguments, carrying what JSON cannot (an infinite Double) or
// carries badly (bytes as an array of numbers). Each prints facts, one per line; the trace's
// `send` sizes are the rest.
import Forkline
import Synchronization

/// Throws at 2; 1 gives an infinite Double (JSON cannot encode it); else the input.
let poolbinInfOrThrow = PoolFunction<Int, Double>("poolbin-inf-or-throw") { x in
    if x == 2 { throw PoolBoom(n: x) }
    return x == 1 ? .infinity : Double(x)
}

/// 64 KiB of bytes derived from the input; throws at 2.
let poolbinBytesOrThrow = PoolFunction<Int, [UInt8]>("poolbin-bytes-or-throw") { x in
    if x == 2 { throw PoolBoom(n: x) }
    return (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 &+ x) }
}

/// An initializer's arguments JSON cannot carry (an infinite scale) or carries as 4x its bytes.
struct PoolbinConfig: Codable, Sendable {
    var scale: Double
    var table: [UInt8]
}

/// What the initializer was given, in this worker.
let poolbinSeen = Mutex<String>("initializer never ran")
let poolbinInit = EntryPoint<PoolbinConfig>("poolbin-init") { c in
    poolbinSeen.withLock { $0 = "scale \(c.scale) table \(c.table.count) sum \(c.table.reduce(0) { $0 &+ Int($1) })" }
}
let poolbinSeenByWorker = PoolFunction<Int, String>("poolbin-seen") { _ in poolbinSeen.withLock { $0 } }

enum PoolBinaryScenarios {
    static let entries: [any AnyEntryPoint] = [poolbinInfOrThrow, poolbinBytesOrThrow, poolbinInit, poolbinSeenByWorker]

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        switch scenario {
        case "poolbin-mixed":
            // One chunk of four with a failure at 2: the other items arrive, the failure at its place.
            try await withPool(workers: 1, method: m) { pool in
                var items: [String] = []
                var results = try pool.imap(poolbinInfOrThrow, [0, 1, 2, 3], chunksize: 4).makeAsyncIterator()
                for _ in 0..<4 {
                    do { items.append(String(describing: try await results.next()!)) } catch let e as PoolError {
                        items.append(e.code == .taskFailed ? "taskFailed \(e.errorDescription ?? "")" : "\(e.code)")
                    }
                }
                print("mixed " + items.joined(separator: " "))
                var bytes: [String] = []
                var big = try pool.imap(poolbinBytesOrThrow, [0, 1, 2, 3], chunksize: 4).makeAsyncIterator()
                for x in 0..<4 {
                    do {
                        let b = try await big.next()!
                        bytes.append(b == (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 &+ x) } ? "ok" : "wrong")
                    } catch let e as PoolError { bytes.append("\(e.code)") }
                }
                print("bytes " + bytes.joined(separator: " "))
            }
        case "poolbin-init":
            let table = (0..<100_000).map { UInt8(truncatingIfNeeded: $0) }
            do {
                let initializer = try PoolInitializer(poolbinInit, arguments: PoolbinConfig(scale: .infinity, table: table))
                let seen = try await withPool(workers: 2, method: m, initializer: initializer) { pool in
                    try await pool.map(poolbinSeenByWorker, [0, 1, 2, 3], chunksize: 1)
                }
                print("init \(Set(seen).sorted().joined(separator: ", "))")
            } catch let e as PoolError {
                print("init \(e.code)")
            }
        default:
            print("unknown poolbin scenario \(scenario)")
        }
    }
}
