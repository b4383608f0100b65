import Foundation
import ForklineTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Shared memory when there is no room for it: a full /dev/shm. The fixture runs in a private
/// mount namespace (`unshare -m`) with a 1 MiB tmpfs over /dev/shm, so the machine's own /dev/shm
/// is never touched; the tmpfs is unmounted before the namespace ends.
@Suite("Shared memory on a full /dev/shm")
struct SharedMemoryFullTests {
    /// True when this process may make a mount namespace (root, `unshare` present).
    static let canUnshare: Bool = geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")

    @Test("a segment that does not fit fails at creation with ENOSPC (no SIGBUS), leaves no name, and what fits works",
          .enabled(if: canUnshare, "needs root and unshare(1) for a private mount namespace"))
    func fullDevShm() throws {
        let script = "mount -t tmpfs -o size=1m forkline-full-shm /dev/shm || exit 90; \"$0\" fault-shm-full; rc=$?; umount /dev/shm; exit $rc"
        let out = try TestSupport.run("/usr/bin/unshare", ["-m", "--propagation", "private", "sh", "-c", script,
                                                          TestSupport.executable("forkline-fixture")], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        let enospc = "systemCallFailed posix_fallocate errno=\(ENOSPC) names-ENOSPC"
        #expect(out.lines == [
            "4MiB \(enospc)",
            "768KiB ok",
            "512KiB more \(enospc)",
            "attach sparse 512KiB \(enospc)",
            "left in /dev/shm 0",
            "768KiB after close ok",
        ])
    }
}
