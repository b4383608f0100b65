import CForkline
import Foundation
@testable import ForklineSpawn
import ForklineTestSupport
import ForklineTrace
import Testing

/// A system call costs ~2 us on these virtual machines, and a fork start+join made 33 beyond a
/// bare fork's: the parent read its pid four times, its tid and parent pid once each, drew a
/// random puid, and reaped before it waited; the child installed the crash writer (an alternate
/// stack check and six `sigaction`s). What a start reads that is the same for every child is
/// read once per process now. Stated as the kinds of call, not their counts.
@Suite("What a fork start+join asks the kernel")
struct StartSyscallTests {
    @Test("between two fork start+joins the parent calls only clone, pidfd_open, poll, wait4 and close; the child reads no pid and only queries its crash handlers")
    func forkStartJoinCalls() throws {
        let strace = ["/usr/bin/strace", "/bin/strace"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let straceBinary = try #require(strace, "strace is not installed: Tools/test installs it")
        let log = TestSupport.temporaryDirectory("forkline-start-calls") + "/strace.log"
        // start-faults: 3 fork start+joins to warm up, 20 counted, then 20 bare forks (untraced).
        let out = try TestSupport.run(straceBinary, [
            "-f", "-qq", "-e", "signal=none", "-o", log,
            TestSupport.executable("forkline-fixture"), "start-faults", "fork", "20",
        ])
        #expect(out.status == 0, "\(out.stderr)")
        var calls: [(pid: Substring, call: Substring, line: Substring)] = []
        for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
            let f = line.split(separator: " ", maxSplits: 1)
            guard f.count == 2 else { continue }
            let rest = f[1].drop { $0 == " " }
            if rest.hasPrefix("<...") || rest.hasPrefix("+++") || rest.hasPrefix("---") { continue }
            calls.append((f[0], rest.prefix { $0 != "(" }, rest))
        }
        let parent = try #require(calls.first?.pid)
        // The parent's calls from its 5th clone to its 10th: five start+joins after the warm-up.
        var clones = 0
        var parentCalls: Set<Substring> = []
        var children: Set<Substring> = []
        for c in calls {
            if c.pid == parent, c.call == "clone" || c.call == "clone3" { clones += 1 }
            guard clones >= 5 && clones < 10 else { continue }
            if c.pid == parent { parentCalls.insert(c.call) } else { children.insert(c.pid) }
        }
        #expect(parentCalls.subtracting(["clone", "clone3", "pidfd_open", "poll", "wait4", "waitid", "close"]).isEmpty,
                "\(parentCalls.sorted())")
        #expect(children.count == 5)
        let childCalls = calls.filter { children.contains($0.pid) }
        #expect(!childCalls.isEmpty)
        // getpid too: a fork child's pid is the tid the kernel wrote for it (fl_note_fork_child).
        #expect(!childCalls.contains { ["getrandom", "gettid", "getpid", "sigaltstack"].contains($0.call) }, "\(childCalls.map(\.call))")
        // The crash writer inherited from the parent: checked (a query), not installed again.
        let sigactions = childCalls.filter { $0.call == "rt_sigaction" }
        #expect(sigactions.allSatisfy { $0.line.contains(", NULL, ") }, "\(sigactions.map(\.line))")
        #expect(sigactions.count <= 5)
    }

    @Test("the pid and tid read without a system call are the kernel's, on the main thread and on another")
    func cachedPid() throws {
        // (Fork children read theirs too: every fork fixture's join depends on it, since a
        // handle is joinable only in the process whose pid made it.)
        for _ in 0..<2 {
            #expect(fl_getpid() == getpid())
            #expect(fl_gettid() == Self.kernelTid())
        }
        let fromThread = ThreadResult()
        let t = Thread {
            fromThread.set((0..<2).allSatisfy { _ in fl_getpid() == getpid() && fl_gettid() == Self.kernelTid() } && fl_gettid() != getpid())
        }
        t.start()
        while !fromThread.done { usleep(1000) }
        #expect(fromThread.ok)
    }

    /// The calling thread's tid as the kernel names it (`/proc/thread-self` is `<pid>/task/<tid>`).
    static func kernelTid() -> Int32 {
        let link = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) ?? ""
        return Int32(link.split(separator: "/").last ?? "") ?? -1
    }

    @Test("puids made in one process are unique and carry the host's tag; another process draws its own")
    func puidsCounted() throws {
        let me = fl_getpid()
        var seen: Set<UInt64> = [Tracer.processID]
        let tag = Tracer.makePuid() >> 48
        for _ in 0..<1000 {
            let p = ChildRegistry.nextPuid(pid: me)
            #expect(p >> 48 == tag && p & 0xFFFF_FFFF_FFFF != 0)
            #expect(seen.insert(p).inserted)
        }
        // As a fork child does (its pid is another): a new start, not the parent's sequence.
        let other = ChildRegistry.nextPuid(pid: me &+ 1)
        let next = ChildRegistry.nextPuid(pid: me &+ 1)
        #expect(!seen.contains(other) && !seen.contains(next) && other != next)
    }
}

/// A result another thread sets once.
final class ThreadResult: @unchecked Sendable {
    // @unchecked: both fields are written under `lock` and read under it.
    private let lock = NSLock()
    private var value: Bool?
    func set(_ v: Bool) { lock.withLock { value = v } }
    var done: Bool { lock.withLock { value != nil } }
    var ok: Bool { lock.withLock { value == true } }
}
