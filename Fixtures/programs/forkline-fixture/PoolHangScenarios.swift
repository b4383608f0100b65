// Pool scenarios that used to hang with `--method fork` (issue 10 item 3): each prints facts, one
// per line; a loop over many runs (Tools/pool-hang-loop) counts the runs that never end.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum PoolHangScenarios {
    static let names: Set<String> = ["pool-retire-kill"]

    static func run(_ scenario: String, _ m: StartMethod, _ count: Int) async throws {
        switch scenario {
        case "pool-retire-kill": try await retireKill(m, rounds: max(1, count))
        default: break
        }
    }

    /// `maxTasksPerChild: 3`, tasks that SIGKILL their own worker among ones that return, then an
    /// ordered map: every task ends once (the killers as `workerDied`), the map's results in order.
    static func retireKill(_ m: StartMethod, rounds: Int) async throws {
        try await withPool(workers: 2, method: m, maxTasksPerChild: 3) { pool in
            for round in 0..<rounds {
                let inputs = (0..<12).map { $0 % 4 == 1 ? 1 : 0 }
                var handles: [PoolTask<Int>] = []
                for x in inputs { handles.append(try pool.applyAsync(poolDie, x)) }
                var ok = 0, died = 0, other: [String] = []
                for h in handles {
                    do { _ = try await h.value; ok += 1 } catch let e as PoolError {
                        if e.code == .workerDied && e.signal == SIGKILL { died += 1 } else { other.append("\(e.code)") }
                    }
                }
                var mapped = "threw nothing"
                do { _ = try await pool.map(poolDie, inputs, chunksize: 1) } catch let e as PoolError { mapped = "threw \(e.code)" }
                var lazy: [String] = []
                var it = try pool.imap(poolDie, inputs, chunksize: 1).makeAsyncIterator()
                for _ in inputs {
                    do { lazy.append("\(try await it.next() ?? -1)") } catch let e as PoolError { lazy.append(e.code == .workerDied ? "d" : "\(e.code)") }
                }
                let squares = try await pool.map(poolSquare, Array(0..<20), chunksize: 1)
                let good = squares == (0..<20).map { $0 * $0 }
                print("round \(round) ok \(ok) died \(died) other \(other) killers' map \(mapped) imap \(lazy.joined(separator: " ")) map \(good ? "in order" : "\(squares)")")
            }
        }
    }
}
