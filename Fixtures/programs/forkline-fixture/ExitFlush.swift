// exit-flush: a child that leaves output buffered when its body returns, on stdout (a pipe, so
// fully buffered) and in a file it opened and never closed. A child ends with exit_group, not
// exit(), so only the flush on its way out writes these (ChildSetup.runAndExit).
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct FlushTarget: Codable, Sendable { var path: String }

/// Leaves "unflushed stdout" in stdout's buffer and "unflushed file" in an unclosed file's.
let leaveBuffered = EntryPoint<FlushTarget>("leave-buffered") { args in ExitFlush.leave(args.path) }

enum ExitFlush {
    static let entries: [any AnyEntryPoint] = [leaveBuffered]

    static func leave(_ path: String) {
        print("unflushed stdout", terminator: "")
        let f = fopen(path, "w")
        fputs("unflushed file", f)
    }

    /// One child of `method`; prints the child's status, then (after it) what its file holds.
    static func run(method: StartMethod, directory: String) throws {
        let path = directory + "/\(method).txt"
        var options = ChildOptions()
        options.method = method
        let child = method == .fork
            ? ChildProcess(options: options) { leave(path) }
            : try ChildProcess(entry: leaveBuffered, arguments: FlushTarget(path: path), options: options)
        try child.start()
        let status = try child.join(timeout: nil)
        let f = fopen(path, "r")
        var buf = [CChar](repeating: 0, count: 64)
        let line = f.flatMap { fgets(&buf, 64, $0) }.map { String(cString: $0) } ?? "<none>"
        print("\nstatus=\(status.map { "\($0)" } ?? "nil") file=\(line)")
    }
}
