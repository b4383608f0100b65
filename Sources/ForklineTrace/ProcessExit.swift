import CForkline
import Synchronization
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// Runs Forkline's clean-up when the process exits normally, then records its `exit` event.
///
/// Modules register hooks (ForklineSpawn joins daemon children here); they run in reverse order
/// of registration, before the trace file is closed, so what they record is in the trace.
package enum ProcessExit {
    static let hooks = ForkSafeLock<[@Sendable (Int32) -> Void]>([])
    static let installed = Atomic<Bool>(false)
    /// The pid that ran the hooks (each process runs them once; a fork child has a new pid).
    static let ranIn = Atomic<Int32>(0)

    /// Adds a hook run at normal exit with the exit status.
    package static func addHook(_ hook: @escaping @Sendable (Int32) -> Void) {
        install()
        hooks.withLock { $0.append(hook) }
    }

    static func install() {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        fl_on_exit(processExitCallback)
    }

    /// Creates the hook list and flags now (a forkserver, and every process before its first
    /// fork), so children find them made instead of initialising them on the way to `_exit`.
    package static func prepare() {
        _ = hooks.withLock { $0.count }
        _ = installed.load(ordering: .relaxed)
        _ = ranIn.load(ordering: .relaxed)
        // The runtime makes the metadata of a hook's function type the first time `run` reads
        // one: made here, a fork child finds it made (it was ~10 page faults in each child).
        _ = hook(at: 0)
    }

    /// The hook at `index`, nil past the last (read under the lock: a hook may be added meanwhile).
    static func hook(at index: Int) -> (@Sendable (Int32) -> Void)? {
        hooks.withLock { index < $0.count ? $0[index] : nil }
    }

    /// Runs the hooks and records the exit (paths that end with `_exit`, or twice-safe).
    package static func run(status: Int32) {
        let me = fl_getpid()
        guard ranIn.exchange(me, ordering: .acquiringAndReleasing) != me else { return }
        var i = hooks.withLock { $0.count }
        while i > 0 {
            i -= 1
            hook(at: i)?(status)
        }
        Tracer.recordExit(code: status)
    }
}

private func processExitCallback(_ status: Int32) {
    ProcessExit.run(status: status)
}
