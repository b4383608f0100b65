import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Traces written on the three nodes of the local Slurm cluster (issue 17 items 2-5): each host
/// its own directory, puids carrying the host's id, merged and checked by `replay`.
extension ClusterSuite {
@Suite("Traces from three Slurm nodes")
struct SlurmTraceTests {
    /// Runs the fixture's `pingpong` (a forkserver, a child, three round trips, joins) on every
    /// node with `srun`, each host tracing into `dir/<host name>` (`FORKLINE_TRACE=dir/%h`).
    static func runOnThreeNodes() throws -> (TestSupport.Output, String) {
        let dir = TestSupport.temporaryDirectory("forkline-cluster-trace")
        let out = try Cluster.run(
            ["srun", "-N3", "--ntasks-per-node=1", TestSupport.executable("forkline-fixture"), "pingpong", "forkserver", "3"],
            environment: [Tracer.environmentVariable: dir + "/%h"])
        return (out, dir)
    }

    @Test("srun runs the fixture on three nodes; each host writes its own directory; the merged trace checks OK")
    func threeNodesMerged() throws {
        let (out, dir) = try Self.runOnThreeNodes()
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.lines.filter { $0 == "answers ok" }.count == 3, "\(out.stdout)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == Cluster.nodes)
        for node in Cluster.nodes {
            // The first process of each host names it in the directory.
            let hostFile = "\(dir)/\(node)/\(hex16(HostID.of(name: node))).host"
            #expect((try? String(contentsOfFile: hostFile, encoding: .utf8)) == node + "\n")
        }
        let trace = try Trace.load(paths: [dir])
        #expect(trace.problems == [])
        #expect(Set(trace.hosts.map(trace.hostLabel)) == Set(Cluster.nodes))
        // main, the forkserver and the ponger on each node.
        #expect(trace.processes.count == 9)
        #expect(Set(trace.processes.map(\.header.puid)).count == 9)
        for p in trace.processes {
            let host = trace.hostLabel(p.header.host)
            #expect(p.header.host == HostID.of(name: host), "\(p.source)")
            #expect(HostID.tag(ofPuid: p.header.puid) == HostID.tag(of: p.header.host), "\(p.source)")
            #expect(p.source.contains("/\(host)/"), "\(p.source) is in its own host's directory")
        }
        #expect(trace.check().violations.map(\.message) == [])
        let check = try TestSupport.run(TestSupport.executable("replay"), ["check", dir])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        let show = try TestSupport.run(TestSupport.executable("replay"), ["show", dir])
        for node in Cluster.nodes { #expect(show.lines.contains("host \(node):"), "\(show.stdout)") }
    }

    @Test("the merged trace of the driver and three nodes, cross-host messages and all, still checks with hosts' clocks moved by seconds")
    func clocksMovedBySeconds() throws {
        let dir = TestSupport.temporaryDirectory("forkline-cluster-clock")
        let out = try Cluster.run(
            [TestSupport.executable("forkline-fixture"), "cluster-driver", "spawn", "3", dir, Cluster.headAddress],
            environment: [Tracer.environmentVariable: dir + "/trace/%h"])
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        // Real clocks cannot be moved here (one machine, one CLOCK_MONOTONIC): the offsets are
        // put into the input. flnode2 runs 7 s ahead and the driver's host 3 s behind, so every
        // answer from flnode2 (and from the other nodes) is received seconds "before" it was sent.
        let moved = TestSupport.temporaryDirectory("forkline-cluster-moved")
        let shifts: [String: Int64] = ["flhead": -3_000_000_000, "flnode2": 7_000_000_000]
        for host in ["flhead"] + Cluster.nodes {
            let t = try Trace.load(path: "\(dir)/trace/\(host)")
            let shift = shifts[host] ?? 0
            let ps = t.processes.map { p -> ProcessTrace in
                var q = p
                q.header.startTime = UInt64(Int64(p.header.startTime) + shift)
                q.events = p.events.map { var e = $0; e.time = UInt64(Int64(e.time) + shift); return e }
                return q
            }
            try FileManager.default.createDirectory(atPath: "\(moved)/\(host)", withIntermediateDirectories: true)
            try Data(JSONLines.export(Trace(processes: ps, hostNames: t.hostNames)).utf8)
                .write(to: URL(fileURLWithPath: "\(moved)/\(host)/trace.jsonl"))
        }
        let trace = try Trace.load(paths: [moved])
        #expect(Set(trace.hosts.map(trace.hostLabel)) == Set(["flhead"] + Cluster.nodes))
        // The offsets are in the input: some recv is stamped before the send it names.
        #expect(trace.flows.contains { $0.label == "message" && $0.to.time < $0.from.time })
        #expect(trace.check().violations.map(\.message) == [])
        let check = try TestSupport.run(TestSupport.executable("replay"), ["check", moved])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        // The views align the hosts from the causal links: each node's offset onto flhead's clock
        // is the shift put in (the real clocks are one), within its links' slack, and every
        // cross-host arrow of the Perfetto export runs forward.
        let clocks = HostClocks(trace)
        #expect(clocks.conflict == nil, "\(clocks.summary)")
        #expect(clocks.referenceName == "flhead")
        for node in Cluster.nodes {
            let h = try #require(clocks.hosts.first { $0.name == node })
            let truth = -((shifts[node] ?? 0) - shifts["flhead"]!)
            let slack = Int64(try #require(h.slack, "\(node) bounded both ways: \(clocks.summary)"))
            #expect(h.basis == .bounded && abs(h.offset - truth) <= slack, "\(node): \(h.offset) vs \(truth) ± \(slack)")
            #expect(h.lowest! <= truth && truth <= h.highest!, "\(clocks.summary)")
        }
        let aligned = trace.aligned(by: clocks)
        #expect(aligned.flows.allSatisfy { $0.from.time <= $0.to.time })
        let show = try TestSupport.run(TestSupport.executable("replay"), ["show", "--width", "160", moved])
        #expect(show.lines.contains { $0.hasPrefix("clocks: hosts put on flhead's clock") }, "\(show.stdout)")
    }
}
}

/// A driver in the head namespace and workers `srun` started on the nodes, talking over
/// authenticated TCP connections (Listener / Client): cross-host causal links in the trace.
extension ClusterSuite {
@Suite("Messages between hosts of the Slurm cluster")
struct SlurmMessageTests {
    @Test("workers on three nodes trade messages with the driver; the four hosts' traces merge with every cross-host send paired to its recv")
    func crossHostMessages() throws {
        let dir = TestSupport.temporaryDirectory("forkline-cluster-msg")
        let out = try Cluster.run(
            [TestSupport.executable("forkline-fixture"), "cluster-driver", "spawn", "3", dir, Cluster.headAddress],
            environment: [Tracer.environmentVariable: dir + "/trace/%h"])
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.lines == ["hosts flnode1 flnode2 flnode3", "answers ok", "srun exited(0)"], "\(out.stdout)\(out.stderr)")
        let trace = try Trace.load(paths: [dir + "/trace"])
        #expect(trace.problems == [])
        #expect(Set(trace.hosts.map(trace.hostLabel)) == Set(["flhead"] + Cluster.nodes))
        func host(_ e: TraceEvent) -> UInt64? { trace.process(e.puid)?.header.host }
        let crossHost = trace.flows.filter { host($0.from) != host($0.to) }
        // Per worker: its hello, 4 numbers, 4 squares and the stop: 10 messages, each a send on
        // one host paired with its recv on the other (the channel id both ends derived).
        #expect(crossHost.count == 30, "\(crossHost.map(\.label))")
        #expect(crossHost.allSatisfy { $0.label == "message" && $0.from["channel"]?.uint == $0.to["channel"]?.uint })
        #expect(trace.check().violations.map(\.message) == [])
        let check = try TestSupport.run(TestSupport.executable("replay"), ["check", dir + "/trace"])
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    }
}
}

/// The key handshake across hosts of the cluster.
extension ClusterSuite {
@Suite("Keys between hosts of the Slurm cluster")
struct SlurmKeyTests {
    @Test("a worker on a node holding the wrong key is refused at both ends; the next, with the right key, is served")
    func wrongKeyRefused() throws {
        let dir = TestSupport.temporaryDirectory("forkline-cluster-key")
        let out = try Cluster.run(
            [TestSupport.executable("forkline-fixture"), "cluster-wrong-key", "spawn", "0", dir, Cluster.headAddress],
            environment: [Tracer.environmentVariable: dir + "/trace/%h"])
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
        #expect(out.lines.count == 4, "\(out.stdout)")
        #expect(out.lines.first == "wrong-key: listener authenticationFailed", "\(out.stdout)")
        #expect(out.lines.dropFirst().first == "wrong-key: worker failed", "\(out.stdout)")
        #expect(out.stderr.contains("authenticationFailed"), "the worker says why: \(out.stderr)")
        #expect(out.lines.dropFirst(2).first?.hasPrefix("key: accepted a worker on flnode") == true, "\(out.stdout)")
        #expect(out.lines.last == "key: worker exited(0)", "\(out.stdout)")
        // Neither key is in any trace file.
        let trace = try Trace.load(paths: [dir + "/trace"])
        #expect(trace.check().violations.map(\.message) == [])
        for name in ["key", "wrong-key"] {
            let key = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/\(name)"))
            for host in try FileManager.default.contentsOfDirectory(atPath: dir + "/trace") {
                for f in try FileManager.default.contentsOfDirectory(atPath: "\(dir)/trace/\(host)") {
                    let bytes = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/trace/\(host)/\(f)"))
                    #expect(bytes.range(of: key) == nil, "\(name) found in \(host)/\(f)")
                }
            }
        }
    }
}
}
