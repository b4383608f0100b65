// Pool scenarios that used to hang with `--method fork` (issue 10 item 3): each prints facts, one
// per line; a loop over many runs (Tools/pool-hang-loop) counts the runs that never end.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum PoolHangScenarios {
    static let names: Set<String> = ["pool-retire-kill", "pool-linger"]

    /// Closes every descriptor of its worker (the pool sees the worker's connection end) and
    /// lives on until `path` exists (at most a minute), then returns its pid.
    static let linger = PoolFunction<String, Int32>("pool-linger") { path in
        for fd in Int32(3)..<Int32(1024) { close(fd) }
        var waited = 0
        while access(path, F_OK) != 0 && waited < 60_000 {
            usleep(10_000)
            waited += 10
        }
        return getpid()
    }

    static func run(_ scenario: String, _ m: StartMethod, _ count: Int) async throws {
        switch scenario {
        case "pool-retire-kill": try await retireKill(m, rounds: max(1, count))
        case "pool-linger": try await linger(m)
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

    /// A worker whose connection ended lives on until the pool has run a map on its other worker
    /// (and its replacement): the pool's scheduling does not wait for the ended worker's exit.
    static func linger(_ m: StartMethod) async throws {
        let path = "/tmp/forkline-linger-\(getpid())"
        unlink(path)
        defer { unlink(path) }
        try await withPool(workers: 2, method: m) { pool in
            _ = try await pool.map(poolSquare, [1, 2], chunksize: 1)
            let before = Set(pool.workerPIDs)
            let lingerer = try pool.applyAsync(linger, path)
            var gone: Set<Int32> = []
            for _ in 0..<6000 where gone.isEmpty {
                gone = before.subtracting(pool.workerPIDs)
                if gone.isEmpty { usleep(10_000) }
            }
            print("ended worker seen \(gone.count == 1)")
            let squares = try await pool.map(poolSquare, Array(0..<20), chunksize: 1)
            // The lingerer cannot have ended yet unless something killed it: it waits for the file.
            var alive = false
            if let pid = gone.first, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) {
                alive = !stat.contains(") Z ")
            }
            print("map \(squares == (0..<20).map { $0 * $0 } ? "in order" : "\(squares)") while the ended worker was alive: \(alive)")
            _ = creat(path, 0o600)
            do {
                // Its reply, published after its connection ended, is read when it is reaped.
                let pid = try await lingerer.value
                print("lingerer returned its pid \(pid == gone.first ?? -1)")
            } catch let e as PoolError {
                print("lingerer \(e.code) signal=\(e.signal ?? 0)")
            }
        }
    }
}
