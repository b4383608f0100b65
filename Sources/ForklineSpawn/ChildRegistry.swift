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
    }

    static let state = ForkSafeLock(State())

    static func nextNumber() -> Int {
        state.withLock { s in
            s.counter += 1
            return s.counter
        }
    }

    static func add(_ c: ChildProcess) { state.withLock { $0.children[c.puid] = c } }
    static func remove(_ c: ChildProcess) { state.withLock { _ = $0.children.removeValue(forKey: c.puid) } }

    /// Started children not yet joined, oldest first.
    static var active: [ChildProcess] {
        let me = getpid()
        return state.withLock { Array($0.children.values) }.filter { $0.creatorPid == me }.sorted { ($0.pid ?? 0) < ($1.pid ?? 0) }
    }

    /// At normal exit, as Python does: daemon children are terminated (SIGTERM, then SIGKILL
    /// after a grace period) and every remaining child is joined, so none is left unreaped.
    static func installExitHook() {
        let first = state.withLock { s in
            defer { s.hookInstalled = true }
            return !s.hookInstalled
        }
        guard first else { return }
        ProcessExit.addHook { _ in ChildRegistry.joinAllAtExit() }
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

    static func joinAllAtExit() {
        let me = getpid()
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
