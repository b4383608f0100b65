import Foundation
import ForklineTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The local Slurm cluster that `Tools/cluster up` stands up: three nodes, each a network
/// namespace with its own host name, and a head namespace holding slurmctld and the driver.
enum Cluster {
    static let nodes = ["flnode1", "flnode2", "flnode3"]
    /// The head namespace's address, where a driver listens.
    static let headAddress = "10.231.0.1"

    /// `Tools/cluster` in this checkout.
    static let script: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/cluster").path

    /// True when the cluster is up (and this process is root, which entering its namespaces needs).
    static var isUp: Bool {
        getuid() == 0 && FileManager.default.fileExists(atPath: "/run/netns/fl-flhead")
            && FileManager.default.fileExists(atPath: (ProcessInfo.processInfo.environment["FORKLINE_CLUSTER_DIR"] ?? "/tmp/forkline-cluster") + "/slurm.conf")
    }

    /// Why the suites skip when the cluster is not up.
    static let skipReason: Comment = "needs the local Slurm cluster: as root, Tools/cluster up (Tools/test brings it up and down around these tests)"

    /// Runs `command` in the head namespace (as a driver would: `srun`, `sbatch`, a pool driver).
    static func run(_ command: [String], environment: [String: String] = [:], timeout: TimeInterval = 180) throws -> TestSupport.Output {
        try TestSupport.run("/bin/bash", [script, "run"] + command, environment: environment, timeout: timeout)
    }
}


/// Every cluster test, one at a time (a test kills a node, and the nodes are shared), and only
/// when the cluster is up.
@Suite("The local Slurm cluster", .enabled(if: Cluster.isUp, Cluster.skipReason), .serialized)
struct ClusterSuite {}
