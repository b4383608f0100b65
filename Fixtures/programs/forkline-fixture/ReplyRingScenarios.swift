// Pool scenarios for a worker's reply ring (issue 14 item 4): a worker whose task closed every
// descriptor it has, and whose reply ring then fills, ends with a clear error instead of
// trapping on the descriptor it used to look at. Each prints facts, one per line.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// Input 0 closes every descriptor of its worker and waits half a second (the pool sees its
/// connection end before any reply, and stops draining its reply ring); every input returns
/// 400 KiB, so the third reply finds the 1 MiB ring full.
let replyringCloseFill = PoolFunction<Int, [UInt8]>("replyring-close-fill") { i in
    if i == 0 {
        for fd in Int32(3)..<Int32(1024) { close(fd) }
        usleep(500_000)
    }
    return [UInt8](repeating: UInt8(i), count: 400 << 10)
}

enum ReplyRingScenarios {
    static let entries: [any AnyEntryPoint] = [replyringCloseFill]

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        switch scenario {
        case "replyring-closed-full":
            // One worker, five such tasks in one batch: after tiny tasks the pool hands a worker
            // up to 64 at once.
            try await withPool(workers: 1, method: m) { pool in
                _ = try await pool.map(poolSquare, Array(0..<200), chunksize: 1)
                do {
                    let r = try await pool.map(replyringCloseFill, Array(0..<5), chunksize: 1)
                    print("map returned \(r.count)")
                } catch let e as PoolError {
                    print("map threw \(e.code)")
                }
                print("after \(try await pool.apply(poolSquare, 6))")
            }
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }
}
