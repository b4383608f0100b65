import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// Who a process is: what `ChildProcess.current` and `.parent` return.
public struct ProcessIdentity: Sendable, Hashable {
    public var pid: Int32
    public var name: String
    /// The unique id of the process in traces (0 for a parent Forkline did not start).
    public var puid: UInt64
}

extension ChildProcess {
    struct Lineage {
        var name = "MainProcess"
        var parent: ProcessIdentity?
    }

    static let lineage = ForkSafeLock(Lineage())

    /// This process (`MainProcess` unless Forkline started it).
    public static var current: ProcessIdentity { current(pid: fl_getpid()) }

    /// ``current`` when the caller has read this process's pid already.
    static func current(pid: Int32) -> ProcessIdentity {
        ProcessIdentity(pid: pid, name: lineage.withLock { $0.name }, puid: Tracer.processID)
    }

    /// The process that started this one, or nil for a process Forkline did not start.
    public static var parent: ProcessIdentity? { lineage.withLock { $0.parent } }

    /// Children this process started and has not joined yet (Python's `active_children()`; as
    /// there, it reaps the ones that have ended).
    public static var activeChildren: [ChildProcess] {
        ChildRegistry.active.filter { $0.isAlive }
    }

    /// The number of CPUs this process may run on.
    public static var cpuCount: Int {
        let n = Int(fl_cpu_count())
        if n > 0 { return n }
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    static let inheritedMap = ForkSafeLock<[Int32: Int32]>([:])

    /// The number under which this process has a descriptor its parent passed with
    /// ``ChildOptions/inheritedDescriptors``, given the parent's number; nil if it was not passed.
    /// (fork children keep the numbers; spawn and forkserver children get them renumbered.)
    public static func inheritedDescriptor(_ parentFD: Int32) -> Int32? {
        inheritedMap.withLock { $0[parentFD] }
    }

    static func setInherited(_ parentFDs: [Int32], from first: Int32) {
        guard !parentFDs.isEmpty else { return }
        inheritedMap.withLock { m in
            m = [:]
            for (i, fd) in parentFDs.enumerated() { m[fd] = first + Int32(i) }
        }
    }

    /// Sets up the state of a new child: its name and parent, nothing of the parent's children.
    ///
    /// Also installs the crash writer, traced or not: a child that crashes ends at once by its
    /// signal instead of running the Swift runtime's crash report (docs/spawn.md, "Crashes"),
    /// unless `FORKLINE_CRASH_REPORT=swift` asks for that report. A fork child is handed that
    /// answer (`runtimeCrashReport`), read before the fork: `getenv` in each child was 3 page
    /// faults of libc text a child.
    static func becomeChild(name: String, puid: UInt64, parent: ProcessIdentity, runtimeCrashReport: Bool? = nil) {
        fl_crash_become_child((runtimeCrashReport ?? ChildSetup.wantsRuntimeCrashReport) ? 1 : 0)
        Tracer.adopt(puid: puid)
        lineage.withLock { l in
            l.name = name
            l.parent = parent
        }
    }
}

/// What every new child does first, whatever its start method.
enum ChildSetup {
    /// The exit code of a child that could not begin: its start payload unreadable, or its
    /// entry point not registered (`EX_SOFTWARE` of sysexits.h: an internal error).
    static let bootstrapFailed: Int32 = 70

    /// Dies with the parent: SIGKILL when the thread that created us exits, and a re-check in
    /// case it already had (then the fork raced the parent's death).
    static func bindLifetime(to parentPid: Int32) {
        _ = fl_set_pdeathsig(SIGKILL)
        if getppid() != parentPid { fl_exit_now(1) }
    }

    /// `FORKLINE_CRASH_REPORT=swift`: children chain to the Swift runtime's crash report (seconds
    /// per crash, with a helper process of its own) instead of ending at once.
    static var wantsRuntimeCrashReport: Bool {
        guard let v = getenv(crashReportVariable) else { return false }
        return String(cString: v) == "swift"
    }

    static let crashReportVariable = "FORKLINE_CRASH_REPORT"

    /// Whether a child with `environment` (nil: this process's) asks for the runtime's report.
    static func wantsRuntimeCrashReport(in environment: [String: String]?) -> Bool {
        guard let environment else { return wantsRuntimeCrashReport }
        return environment[crashReportVariable] == "swift"
    }

    /// In the parent, before a fork: creates every lazily initialised global a fork child
    /// touches on its way to its body and at exit. Swift initialises a global under a lock of
    /// its own (`swift_once`); forked while another thread was initialising one, the child finds
    /// that lock held by a thread it does not have, and waits forever the first time it touches
    /// the global (seen: a pool worker stuck on `AsyncBridge.current` in `afterFork` while
    /// an async join created the monitor in the parent). Touched here first, each is either made
    /// or waited for before the fork. A user's closure that touches a global in the child runs
    /// that risk still (docs/spawn.md).
    static func prepareParent() { _ = prepared }

    private static let prepared: Void = {
        _ = Launcher.state.withLock { $0.started }
        _ = Launcher.launcherTid.load(ordering: .relaxed)
        _ = Launcher.everStarted.load(ordering: .relaxed)
        AsyncBridge.prepareForFork()
        _ = ForkServerClient.state.withLock { $0 == nil }
        _ = ForkServerClient.retired.withLock { $0.isEmpty }
        _ = ChildProcess.inheritedMap.withLock { $0.count }
        _ = ChildProcess.lineage.withLock { $0.name }
        _ = ChildRegistry.state.withLock { _ in true }
        _ = ChildRegistry.hasChildren(createdBy: 0)
        ProcessExit.prepare()
        _ = Tracer.directory
        fl_bind_child_calls()
        // The crash writer, installed here once, is inherited by every fork child, whose own
        // install then only checks that it is still in place (one `sigaction` query instead of
        // `sigaltstack` and six `sigaction`s, ~2 us each here). In this process it chains to the
        // handler it replaced, as it does in a traced root process (docs/backtraces.md).
        fl_crash_install()
    }()

    /// In a fork child, before anything else: forget what belonged to the parent.
    static func afterFork() {
        Tracer.forgetAfterFork()
        Launcher.resetAfterFork()
        AsyncBridge.resetAfterFork()
        ForkServerClient.resetAfterFork()
    }

    /// Applies environment and working directory in a fork child (single-threaded here).
    static func applyEnvironment(_ env: [String: String]?, cwd: String?) -> Bool {
        if let env {
            clearenv()
            for (k, v) in env { setenv(k, v, 1) }
        }
        if let cwd, chdir(cwd) != 0 {
            writeStderr("forkline: cannot change to directory \(cwd): \(String(cString: strerror(errno)))\n")
            return false
        }
        return true
    }

    /// Runs a child's body and ends the process: code 0 on return, 1 (error on stderr) on throw.
    static func runAndExit(name: String, _ body: () throws -> Void, immediate: Bool) -> Never {
        var code: Int32 = 0
        do {
            try body()
        } catch {
            writeStderr("forkline: process \(name) (pid \(fl_getpid())) failed: \(error)\n")
            code = 1
        }
        fl_flush_streams()
        if immediate {
            ProcessExit.run(status: code)
            fl_exit_now(code)
        }
        exit(code)
    }
}

import CForkline
import ForklineSystem
