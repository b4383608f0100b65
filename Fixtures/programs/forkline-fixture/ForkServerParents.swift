// Scenario for who a forkserver child's kernel parent is: the server forks a child of its owner
// (the process that started it) as the owner's own (CLONE_PARENT), so the owner waits for it
// itself; a child another process asks for (here a forkserver child asking for a grandchild), or
// one the owner asks for while it ignores SIGCHLD, is the server's, its status relayed.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct ParentsArgs: Codable, Sendable { var label: String; var code: Int32 }

/// Prints its kernel parent and its logical one; as "child" it starts and joins a "grandchild"
/// with the forkserver first. Exits with `code`.
let parentsChild = EntryPoint<ParentsArgs>("parents-child") { args in
    print("\(args.label) pid \(getpid()) ppid \(getppid()) parent \(ChildProcess.parent?.pid ?? -1)")
    fflush(nil)
    if args.label == "child" {
        let g = try ChildProcess(entry: parentsChild, arguments: ParentsArgs(label: "grandchild", code: 4))
        try g.start()
        print("grandchild status \(try g.join(timeout: nil).map { "\($0)" } ?? "none")")
        fflush(nil)
    }
    exit(args.code)
}

enum ForkServerParents {
    static let entries: [any AnyEntryPoint] = [parentsChild]

    /// Prints this process's pid, then one child's and grandchild's lines and statuses; then,
    /// with SIGCHLD ignored, a child's lines and status; then a child killed by SIGKILL; and the
    /// zombies left (none).
    static func run() throws {
        print("owner pid \(getpid())")
        fflush(nil)
        let c = try ChildProcess(entry: parentsChild, arguments: ParentsArgs(label: "child", code: 3))
        try c.start()
        print("child status \(try c.join(timeout: nil).map { "\($0)" } ?? "none")")
        let k = try ChildProcess(entry: sleeper, arguments: Number(n: 600))
        try k.start()
        waitForTraceFile(of: k.pid ?? 0)
        try k.kill()
        print("killed status \(try k.join(timeout: nil).map { "\($0)" } ?? "none")")
        signal(SIGCHLD, SIG_IGN)
        let i = try ChildProcess(entry: parentsChild, arguments: ParentsArgs(label: "ignoring", code: 5))
        try i.start()
        print("ignoring status \(try i.join(timeout: nil).map { "\($0)" } ?? "none")")
        signal(SIGCHLD, SIG_DFL)
        print("zombies \(Zombies.count())")
    }
}
