import CForkline
import ForklineTrace
import Synchronization
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// The children this process started and has not joined yet; joins or ends them at exit.
enum ChildRegistry {
    struct State {
        var children: [UInt64: ChildProcess] = [:]
        var counter = 0
        var hookInstalled = false
        /// Children's puids: one drawn at random per process (`basePid`'s), then counted on.
        var puidBase: UInt64 = 0
        var puidCount: UInt64 = 0
        var basePid: Int32 = 0
    }

    static let state = ForkSafeLock(State())

    static func nextNumber() -> Int {
        state.withLock { s in
            s.counter += 1
            return s.counter
        }
    }

    /// A new child's puid, made by the process `pid` (the caller's, which it has read already).
    ///
    /// A puid is this host's tag in the top 16 bits and 48 bits that no other process's puid has:
    /// each process draws them at random (`getrandom`) for its first child, and counts on from
    /// there for the next ones (a system call less a start; as unlikely to meet another
    /// process's as a new draw each time). A process forked from this one (by Forkline or
    /// by anyone) has another pid, so it draws its own start instead of repeating ours.
    static func nextPuid(pid: Int32) -> UInt64 {
        state.withLock { s in
            if s.basePid != pid || s.puidBase == 0 {
                s.basePid = pid
                s.puidBase = Tracer.makePuid()
                s.puidCount = 0
                return s.puidBase
            }
            let low: UInt64 = 0xFFFF_FFFF_FFFF
            while true {
                s.puidCount += 1
                let puid = (s.puidBase & ~low) | ((s.puidBase &+ s.puidCount) & low)
                if puid & low != 0 { return puid }
            }
        }
    }

    /// What every `start` does first: the first one in this process reads `FORKLINE_TRACE` (as
    /// `bootstrap` does) and installs the exit hook that joins the children left; the next ones
    /// find both done. (Each later call of `Tracer.startFromEnvironment` was a no-op, but its
    /// default origin read `getppid()`: a system call a start.)
    static func firstStart() {
        let first = state.withLock { s in
            defer { s.hookInstalled = true }
            return !s.hookInstalled
        }
        guard first else { return }
        Tracer.startFromEnvironment()
        ProcessExit.addHook { _ in ChildRegistry.joinAllAtExit() }
    }

    static func add(_ c: ChildProcess) { state.withLock { $0.children[c.puid] = c } }
    static func remove(_ c: ChildProcess) { state.withLock { _ = $0.children.removeValue(forKey: c.puid) } }

    /// Started children not yet joined, oldest first.
    static var active: [ChildProcess] {
        let me = fl_getpid()
        return state.withLock { Array($0.children.values) }.filter { $0.creatorPid == me }.sorted { ($0.pid ?? 0) < ($1.pid ?? 0) }
    }

    /// How long a daemon child has, after SIGTERM at its parent's exit, before SIGKILL (Python
    /// terminates daemonic children and joins them; a child that ignores SIGTERM must not hold
    /// its parent's exit forever).
    static let daemonGrace: Duration = .seconds(1)

    /// Whether `pid` created any child in the table (the exit hook's first question, asked by
    /// `ChildSetup.prepareParent` too: the runtime makes the metadata this generic walk needs at
    /// its first run, and a fork child finds it made instead of paying ~4 page faults for it).
    static func hasChildren(createdBy pid: Int32) -> Bool {
        state.withLock { s in s.children.values.contains { $0.creatorPid == pid } }
    }

    /// At normal exit (the hook ``firstStart()`` installs), as Python does: daemon children are
    /// terminated (SIGTERM, then SIGKILL after a grace period) and every remaining child is
    /// joined, so none is left unreaped.
    static func joinAllAtExit() {
        let me = fl_getpid()
        guard hasChildren(createdBy: me) else {
            ForkServerClient.shutdownAtExit()
            return
        }
        // A fork child's table still holds its parent's children (freeing it would copy pages
        // for nothing): `active` and the check above filter them out by their creator's pid.
        let children = active
        for c in children where c.daemon { try? c.terminate() }
        for c in children {
            if c.daemon, (try? c.join(timeout: daemonGrace)) == nil { try? c.kill() }
            _ = try? c.join(timeout: nil)
        }
        ForkServerClient.shutdownAtExit()
    }
}
