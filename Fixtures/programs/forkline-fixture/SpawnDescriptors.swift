// Scenario for the descriptors a spawn child starts with: 0, 1 and 2, and the passed ones from
// 4 on (found by their parent's numbers, readable), nothing else: not the bootstrap channel,
// nothing of the parent's.
import FoundationEssentials
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum SpawnDescriptors {
    struct Args: Codable, Sendable { var path: String; var passed: [Int32] }

    static let entries: [any AnyEntryPoint] = [list]

    /// Writes `fds N N ...` (this process's open descriptors) and, for each passed one, `at N`
    /// (its number here) and `read X` (the first line read from it), to `path`.
    static let list = EntryPoint<Args>("spawn-fds-list") { args in
        var lines = ["fds " + openDescriptors().map(String.init).joined(separator: " ")]
        for parentFD in args.passed {
            let fd = ChildProcess.inheritedDescriptor(parentFD) ?? -1
            lines.append("at \(fd)")
            var buf = [UInt8](repeating: 0, count: 64)
            let n = read(fd, &buf, buf.count)
            lines.append("read \(n > 0 ? String(decoding: buf.prefix(n), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "" : "<\(n)>")")
        }
        _ = lines.joined(separator: "\n").withCString { s in
            let f = fopen(args.path, "w"); fputs(s, f); fclose(f)
        }
    }

    /// The open descriptors' numbers, in order (the listing's own is left out).
    static func openDescriptors() -> [Int32] {
        NetConcurrency.descriptors().compactMap { Int32($0.prefix { $0 != " " }) }.sorted()
    }

    /// Starts one child with no passed descriptor and one passed a pipe's read end; prints each
    /// child's lines and status.
    static func run(method m: StartMethod, dir: String) throws {
        for passing in [false, true] {
            var p: [Int32] = [-1, -1]
            guard pipe(&p) == 0 else { return print("pipe failed") }
            _ = "ping\n".withCString { write(p[1], $0, 5) }
            let path = "\(dir)/spawn-fds-\(passing)"
            let passed = passing ? [p[0]] : []
            let c = try ChildProcess(entry: list, arguments: Args(path: path, passed: passed),
                                     options: ChildOptions(method: m, inheritedDescriptors: passed))
            try c.start()
            let status = try c.join(timeout: .seconds(60))
            close(p[0])
            close(p[1])
            print("passed \(passed.map(String.init).joined(separator: " "))")
            print((try? String(contentsOfFile: path, encoding: .utf8)) ?? "<no file>")
            print("status \(status.map { "\($0)" } ?? "timeout")")
        }
    }
}
