// Cluster figures (issue 17 item 6), `forkline-bench --cluster`, run inside a Slurm allocation
// of the local cluster (Tools/cluster-bench does it: `salloc -N3` in the head namespace): tiny
// tasks and a CPU-bound map on pools of Slurm workers on 1, 2 and 3 nodes, beside the local pool
// in the same run. All "nodes" are network namespaces of one 2-core VM: the CPU-bound speedup is
// bounded by those 2 cores, whatever the node count.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum ClusterBench {
    static func main(quick: Bool, json: Bool) async throws {
        let host = String(cString: getenv("FORKLINE_BENCH_HOST") ?? strdup("10.231.0.1"))
        let rounds = quick ? 2 : 3
        let tiny = quick ? 2_000 : 5_000
        let steps = 48_000_000, tasks = quick ? 12 : 24
        func remote(_ nodes: Int) -> RemoteWorkers {
            RemoteWorkers(launcher: .slurm(nodes: nodes, extraArguments: ["--overlap"]), listenHost: host,
                          advertisedHost: host, connectTimeout: .seconds(120))
        }
        // Every pool stays open for the whole run and the rounds go through them in turn, so a
        // change in the machine's load (2 cores shared with others) hits them all alike.
        let configs: [(key: String, pool: Pool)] = [
            ("local1", try Pool(workers: 1)), ("local2", try Pool(workers: 2)),
            ("nodes1", try Pool(remote: remote(1))), ("nodes2", try Pool(remote: remote(2))), ("nodes3", try Pool(remote: remote(3))),
        ]
        var tinyUs: [String: [Double]] = [:], cpuS: [String: [Double]] = [:]
        for c in configs { _ = try await c.pool.map(benchSquare, Array(0..<500), chunksize: 1) }  // warm-up: every worker up
        for _ in 0..<rounds {
            for c in configs {
                tinyUs[c.key, default: []].append(try await PoolBench.usPerTask(tiny) {
                    try await c.pool.map(benchSquare, Array(0..<tiny), chunksize: 1)
                })
                let t0 = fl_monotonic_ns()
                _ = try await c.pool.map(benchBurn, Array(repeating: steps, count: tasks), chunksize: 1)
                cpuS[c.key, default: []].append(Double(fl_monotonic_ns() - t0) / 1e9)
            }
        }
        for c in configs {
            c.pool.close()
            await c.pool.join()
        }
        let local = [1: (tiny: tinyUs["local1"]!, cpu: cpuS["local1"]!), 2: (tiny: tinyUs["local2"]!, cpu: cpuS["local2"]!)]
        let nodes = Dictionary(uniqueKeysWithValues: [1, 2, 3].map { ($0, (tiny: tinyUs["nodes\($0)"]!, cpu: cpuS["nodes\($0)"]!)) })
        let med = Stats.median
        var out: [Figure] = []
        for n in [1, 2, 3] {
            out.append(Figure(name: "Slurm pool, \(n) node(s) x 1 worker, tiny tasks, chunksize 1", unit: "us/task",
                              ours: nodes[n]!.tiny, peerName: "local pool, \(min(n, 2)) worker(s)", peer: local[min(n, 2)]!.tiny))
        }
        out.append(Figure(name: "Slurm pool, 1 node, CPU-bound map (\(tasks) x 48M steps)", unit: "s",
                          ours: nodes[1]!.cpu, peerName: "local pool, 1 worker", peer: local[1]!.cpu))
        for n in [2, 3] {
            out.append(Figure(name: "Slurm pool, \(n) nodes, CPU-bound map (\(tasks) x 48M steps)", unit: "s",
                              ours: nodes[n]!.cpu, peerName: "Slurm pool, 1 node", peer: nodes[1]!.cpu))
        }
        out.append(Figure(name: "local pool, 2 workers, CPU-bound map", unit: "s", ours: local[2]!.cpu,
                          peerName: "local pool, 1 worker", peer: local[1]!.cpu))
        print(json ? Report.json(out) : Report.table(out))
        let overhead = med(nodes[1]!.tiny) - med(local[1]!.tiny)
        let speedups = [2, 3].map { "\($0) nodes \(Report.fmt(med(nodes[1]!.cpu) / med(nodes[$0]!.cpu)))x" }
        print("cluster: remote overhead per task (1 node vs 1 local worker, chunksize 1) \(Report.fmt(overhead)) us;"
              + " CPU-bound speedup over 1 node: \(speedups.joined(separator: ", ")); local 2 workers over 1:"
              + " \(Report.fmt(med(local[1]!.cpu) / med(local[2]!.cpu)))x. One 2-core VM: 2x is the bound for both;"
              + " each Slurm task is a session of its own (slurmstepd), so with autogroup scheduling on a loaded"
              + " machine remote workers get CPU shares local ones (in this program's session) do not")
    }
}
