// Scenario for the environment a spawn (or forkserver) child is started with: with no
// `ChildOptions.environment`, the child's `environ` is the parent's, entry for entry and in the
// parent's order (values holding '=' included), with nothing of Forkline's left in it.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum SpawnEnvironment {
    static let entries: [any AnyEntryPoint] = [inOrder]

    /// Writes this process's environment, in `environ`'s order, one entry a line, to `path`.
    static let inOrder = EntryPoint<EnvFile>("env-in-order") { args in
        ForkServerEnv.write(environment().joined(separator: "\n"), to: args.path)
    }

    static func environment() -> [String] {
        var out: [String] = []
        var p = environ
        while let e = p.pointee {
            out.append(String(cString: e))
            p += 1
        }
        return out
    }

    /// Prints `order same` when the child saw this process's environment in its order, else
    /// `order different` and both lists.
    static func run(method m: StartMethod, dir: String) throws {
        setenv("FIXTURE_ENV_ZZZ", "last=but=one", 1)
        setenv("FIXTURE_ENV_AAA", "", 1)
        setenv("FIXTURE_ENV_MMM", "m", 1)
        let path = "\(dir)/env-in-order"
        let c = try ChildProcess(entry: inOrder, arguments: EnvFile(path: path), options: ChildOptions(method: m))
        try c.start()
        let status = try c.join(timeout: .seconds(60))
        let theirs = ForkServerEnv.read(path) ?? "<none>"
        let ours = environment().joined(separator: "\n")
        print("status \(status.map { "\($0)" } ?? "timeout")")
        print(theirs == ours ? "order same" : "order different\n--- parent\n\(ours)\n--- child\n\(theirs)")
    }
}
