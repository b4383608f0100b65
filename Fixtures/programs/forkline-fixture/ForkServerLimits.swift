// The forkserver after a privilege drop, and under RLIMIT_NPROC.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum ForkServerLimits {
    static func startOne(_ label: String) {
        do {
            let c = try ChildProcess(entry: work, arguments: Number(n: 1), options: ChildOptions(method: .forkserver))
            try c.start()
            print("\(label) \(try c.join(timeout: .seconds(60)).map { "\($0)" } ?? "still running")")
        } catch {
            print("\(label) error \(error.code) errno=\(error.errno.map { "\($0)" } ?? "nil"): \(error.message)")
        }
    }

    /// `forkserver-setuid`: as root, a forkserver child; then drop to uid/gid 65534 (nobody) and
    /// start another: it must start (a server for the new uid) or fail naming the cause.
    static func setuid() {
        guard getuid() == 0 else { print("skip not root"); return }
        startOne("root")
        guard setgroups(0, nil) == 0, setgid(65534) == 0, Glibc.setuid(65534) == 0 else {
            print("skip setuid failed errno=\(errno)")
            return
        }
        startOne("nobody")
    }

    /// `forkserver-nproc`: as root, drops to nobody (whose processes are only this one's
    /// threads), then sets RLIMIT_NPROC to those threads plus one: the forkserver's own start
    /// takes the last place, and its fork of the child fails with EAGAIN; the error must say so.
    static func nproc() {
        guard getuid() == 0 else { print("skip not root"); return }
        guard setgroups(0, nil) == 0, setgid(65534) == 0, Glibc.setuid(65534) == 0 else {
            print("skip setuid failed errno=\(errno)")
            return
        }
        var tasks = 0
        if let d = opendir("/proc/self/task") {
            while let e = readdir(d) { if e.pointee.d_name.0 != UInt8(ascii: ".") { tasks += 1 } }
            closedir(d)
        }
        var lim = rlimit(rlim_cur: rlim_t(tasks + 1), rlim_max: rlim_t(tasks + 1))
        guard setrlimit(Int32(__RLIMIT_NPROC.rawValue), &lim) == 0 else { print("skip setrlimit errno=\(errno)"); return }
        startOne("limited")
    }
}
