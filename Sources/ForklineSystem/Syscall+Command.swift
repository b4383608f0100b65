import CForkline

#if canImport(Glibc)
import Glibc
#endif

extension Syscall {
    /// Starts `argv[0]` (looked up in `PATH` when it has no slash) with `argv` and exactly
    /// `environment` (`NAME=value` strings), its stdin from `/dev/null`, stdout and stderr
    /// inherited, every other descriptor closed; the pid. For launchers (`srun`, `sbatch`, a local worker program): never for
    /// Forkline's own children, which ``ChildProcess`` starts. The corresponding C function is
    /// `posix_spawnp`.
    package static func spawnCommand(_ argv: [String], environment: [String]) -> Result<pid_t, Errno> {
        precondition(!argv.isEmpty, "forkline: spawnCommand needs a program")
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // Nothing but stdio: descriptors a Forkline child holds without close-on-exec (those it
        // was passed, such as a pool worker's connection and reply ring) must not reach the
        // launched program, which could outlive this process and hold them open.
        _ = fl_spawn_actions_closefrom(&actions, 3)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Default signal dispositions and an empty mask: the launched program answers SIGTERM.
        var all = sigset_t()
        sigfillset(&all)
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigdefault(&attr, &all)
        posix_spawnattr_setsigmask(&attr, &none)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attr, cArgs, cEnv)
        return rc == 0 ? .success(pid) : .failure(Errno(rc))
    }

    /// Sends `signal` to `pid` (a launcher's process this process started and has not reaped, so
    /// the pid cannot have been reused). ESRCH is ignored. The corresponding C function is `kill`.
    package static func signalProcess(_ pid: pid_t, _ signal: Int32) {
        _ = Glibc.kill(pid, signal)
    }

    /// Blocks until the peer of the stream socket `fd` hangs up (or the socket fails), without
    /// reading anything: for a remote worker's watchdog thread. The corresponding C function is
    /// `poll` with `POLLRDHUP`.
    package static func waitHangUp(_ fd: Int32) {
        let rdhup: Int16 = 0x2000  // POLLRDHUP (<poll.h> with _GNU_SOURCE, which Swift's Glibc does not see)
        var p = [pollfd(fd: fd, events: rdhup, revents: 0)]
        while true {
            switch poll(&p, timeoutMs: -1) {
            case .success(let n) where n > 0: return
            case .success: continue
            case .failure: return
            }
        }
    }
}
