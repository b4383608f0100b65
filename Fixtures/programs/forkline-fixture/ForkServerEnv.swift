// Scenario for the forkserver's environment hand-off: a request sends no environment while the
// requester's is the one the server started with, so the child must see exactly the
// requester's environment, before and after the requester changes it (and never the
// LD_BIND_NOW the server was started with, unless the program set it itself).
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct EnvFile: Codable, Sendable { var path: String }

/// Writes this process's environment, sorted, one `KEY=value` a line, to `path`.
let envDump = EntryPoint<EnvFile>("env-dump") { args in
    ForkServerEnv.write(ForkServerEnv.sortedEnvironment().joined(separator: "\n"), to: args.path)
}

enum ForkServerEnv {
    static func sortedEnvironment() -> [String] {
        var out: [String] = []
        var p = environ
        while let e = p.pointee {
            out.append(String(cString: e))
            p += 1
        }
        return out.sorted()
    }

    static func write(_ text: String, to path: String) {
        guard let f = fopen(path, "w") else { return }
        fputs(text, f)
        fclose(f)
    }

    static func read(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes += buf[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Starts a forkserver child after each change of the environment and prints whether it
    /// saw the same environment as this process.
    static func run(method m: StartMethod, dir: String) throws {
        let steps: [(String, () -> Void)] = [
            ("unchanged", {}),
            ("added", { setenv("FORKLINE_FIXTURE_ADDED", "1", 1) }),
            ("same-length-value", { setenv("FORKLINE_FIXTURE_ADDED", "2", 1) }),
            ("removed", { unsetenv("FORKLINE_FIXTURE_ADDED") }),
        ]
        for (i, (name, change)) in steps.enumerated() {
            change()
            let path = "\(dir)/env-\(i)"
            let c = try ChildProcess(entry: envDump, arguments: EnvFile(path: path), options: ChildOptions(method: m))
            try c.start()
            let status = try c.join(timeout: .seconds(30))
            let theirs = read(path) ?? "<none>"
            let same = theirs == sortedEnvironment().joined(separator: "\n")
            let bindNow = theirs.split(separator: "\n").contains { $0.hasPrefix("LD_BIND_NOW=") }
            print("\(name) \(status.map { "\($0)" } ?? "timeout") \(same ? "same" : "different") bind-now=\(bindNow)")
        }
    }
}
