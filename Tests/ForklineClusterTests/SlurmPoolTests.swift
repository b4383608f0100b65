import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// A pool whose workers Slurm starts on the three nodes (`.slurm` launcher, `srun` steps inside
/// a `salloc -N3` allocation), connecting back to the driver in the head namespace.
extension ClusterSuite {
@Suite("A pool of Slurm workers on three nodes")
struct SlurmPoolTests {
    /// Runs a fixture pool scenario in an allocation of the three nodes, traced into
    /// `dir/<host>`; returns the output and the trace directory.
    static func runPool(_ scenario: String) throws -> (TestSupport.Output, String) {
        let dir = TestSupport.temporaryDirectory("forkline-cluster-pool")
        let out = try Cluster.run(
            ["salloc", "-N3", "--quiet", TestSupport.executable("forkline-fixture"), scenario, "forkserver", "0", Cluster.headAddress],
            environment: [Tracer.environmentVariable: dir + "/%h"], timeout: 300)
        return (out, dir)
    }

    @Test("map across three nodes: results in input order, tasks run on every node, the four hosts' trace checks OK")
    func mapAcrossNodes() throws {
        let (out, dir) = try Self.runPool("cluster-pool-map")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.lines == ["map true", "chunks true", "hosts flnode1 flnode2 flnode3"], "\(out.stdout)\(out.stderr)")
        let trace = try Trace.load(paths: [dir])
        #expect(Set(trace.hosts.map(trace.hostLabel)) == Set(["flhead"] + Cluster.nodes))
        let report = trace.check()
        #expect(report.violations.map(\.message) == [])
        // Every task of the three maps (300 + 3000 items in chunks + 60) has its result.
        #expect(trace.events(.taskBegin).count >= 300 + 60)
        // The views' clock alignment from the pool's own traffic (batches to each remote worker,
        // results back): the nodes share the head's CLOCK_MONOTONIC here, so the true offset of
        // every node is 0, and each estimate must hold it within its slack.
        let clocks = HostClocks(trace)
        #expect(clocks.conflict == nil, "\(clocks.summary)")
        #expect(clocks.referenceName == "flhead", "\(clocks.summary)")
        for node in Cluster.nodes {
            let h = try #require(clocks.hosts.first { $0.name == node })
            let slack = try #require(h.slack, "\(node) bounded both ways: \(clocks.summary)")
            #expect(h.offset.magnitude <= slack, "\(node): \(clocks.summary)")
        }
        #expect(trace.aligned(by: clocks).flows.allSatisfy { $0.from.time <= $0.to.time })
    }

    @Test("a worker SIGKILLed on its node mid-map fails only its task, naming the node; every other task ends exactly once")
    func workerKilledMidMap() throws {
        let (out, dir) = try Self.runPool("cluster-pool-kill")
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        let expected = ["0 ok 0", "5 ok 5", "6 ok 6", "1 workerDied host-named=true", "7 ok 7", "8 ok 8", "9 ok 9", "10 ok 10", "after true"]
        #expect(out.lines == expected, "\(out.stdout)\(out.stderr)")
        let trace = try Trace.load(paths: [dir])
        // The pool invariants (every submitted task ends exactly once, a replacement recorded)
        // hold across the hosts.
        #expect(trace.check().violations.map(\.message) == [])
        #expect(trace.events(.workerReplaced).count >= 1)
    }

    @Test("a node that dies mid-map (its slurmd and every process on it SIGKILLed): every task ends exactly once, failures name the node, the pool closes")
    func nodeDiesMidMap() throws {
        defer { _ = try? TestSupport.run("/bin/bash", [Cluster.script, "revive-node", "2"], timeout: 120) }
        let dir = TestSupport.temporaryDirectory("forkline-cluster-node")
        let out = try Cluster.run(
            ["salloc", "-N3", "--quiet", TestSupport.executable("forkline-fixture"), "cluster-pool-node-dies", "forkserver", "0",
             Cluster.headAddress, Cluster.script],
            environment: [Tracer.environmentVariable: dir + "/%h"], timeout: 400)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.lines == ["ended 30 of 30", "failed workerDied flnode2", "after true", "pool closed"], "\(out.stdout)\(out.stderr)")
        let trace = try Trace.load(paths: [dir])
        // flnode2's directory holds what its processes recorded before they were killed; the
        // merged trace still checks: every submitted task ends once, the kill is a death.
        #expect(Set(trace.hosts.map(trace.hostLabel)) == Set(["flhead"] + Cluster.nodes))
        #expect(trace.check().violations.map(\.message) == [])
    }

    @Test("a node whose network is cut mid-map (its processes live on, unreachable): every task ends exactly once, failures name the node, the pool closes")
    func nodeCutMidMap() throws {
        defer {
            // The link back, then the node resumed and idle for the next test (slurmctld may have
            // marked it down while it was unreachable).
            _ = try? TestSupport.run("/bin/bash", [Cluster.script, "mend-node", "2"], timeout: 60)
            _ = try? TestSupport.run("/bin/bash", [Cluster.script, "revive-node", "2"], timeout: 120)
        }
        let dir = TestSupport.temporaryDirectory("forkline-cluster-cut")
        let out = try Cluster.run(
            // --no-kill: without it Slurm ends the whole allocation when it finds the node
            // unreachable (seen: "Node failure on flnode2", every step cancelled, "job has expired").
            ["salloc", "-N3", "--no-kill", "--quiet", TestSupport.executable("forkline-fixture"), "cluster-pool-node-cut", "forkserver", "0",
             Cluster.headAddress, Cluster.script],
            environment: [Tracer.environmentVariable: dir + "/%h"], timeout: 400)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.lines == ["ended 30 of 30", "failed workerDied flnode2", "after true", "pool closed"], "\(out.stdout)\(out.stderr)")
        let trace = try Trace.load(paths: [dir])
        #expect(trace.check().violations.map(\.message) == [])
    }

    @Test("forkline-examples cluster-map: the seed's pool-map program, its workers on the three nodes, prints the same lines in order")
    func clusterMapExample() throws {
        let out = try Cluster.run(
            ["salloc", "-N3", "--quiet", TestSupport.executable("forkline-examples"), "cluster-map",
             "--listen", Cluster.headAddress, "--advertise", Cluster.headAddress], timeout: 300)
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.lines == (1...5).map { "Executing task: Task \($0)" } + ["workers ran on: flnode1 flnode2 flnode3"],
                "\(out.stdout)\(out.stderr)")
    }
}
}
