// start-faults: the page faults of a fork child that does nothing, beside a bare fork of this
// same process (fork, exit_group, waitpid), counted by getrusage over the reaped children. In a
// fork child every page it writes is a copy-on-write fault and every first read of a library's
// text or symbol table a fault too (fork copies no page table entries for file pages), so the
// count is what the child's path to `_exit` touches, without timing anything.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum StartFaults {
    static func run(count: Int) throws {
        let n = max(count, 20)
        for _ in 0..<3 { try forklineFork() }  // the first start makes the launcher, registry and hooks
        let ours = try childFaults(n) { try forklineFork() }
        let bare = try childFaults(n) { bareFork() }
        print("forkline=\(ours) bare=\(bare)")
    }

    static func forklineFork() throws {
        let c = ChildProcess { }
        try c.start()
        _ = try c.join(timeout: nil)
    }

    static func bareFork() {
        let pid = fork()
        if pid == 0 { fl_exit_now(0) }
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    /// Minor faults per child over `n` runs of `body`.
    static func childFaults(_ n: Int, _ body: () throws -> Void) throws -> Double {
        var a = rusage(), b = rusage()
        getrusage(RUSAGE_CHILDREN.rawValue, &a)
        for _ in 0..<n { try body() }
        getrusage(RUSAGE_CHILDREN.rawValue, &b)
        return Double(b.ru_minflt - a.ru_minflt) / Double(n)
    }
}
