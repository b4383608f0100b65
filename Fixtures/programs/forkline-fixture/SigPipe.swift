// Writes to a peer that is gone: no write of Forkline's may raise SIGPIPE (the default action
// would kill this program); each must throw an error instead.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum SigPipe {
    /// `sigpipe METHOD`: writes to an exited child's stdin pipe, and sends on a Connection whose
    /// other end is closed; prints the error of each.
    static func run(method m: StartMethod) async throws {
        let c = try child({ }, entry: behave, "return", options: ChildOptions(standardInput: .pipe))
        try c.start()
        print("child \(try await c.join())")
        do {
            for _ in 0..<4 { try c.standardInput!.write([UInt8](repeating: 7, count: 70_000)) }
            print("stdin write succeeded")
        } catch {
            print("stdin write error \(error.code) errno=\(error.errno ?? 0)")
        }
        // A reader that goes away while a write is under way: the child reads its one line out of
        // the first 64 KiB and exits while the rest of the 1 MiB waits for room in the pipe; that
        // write returns short, and the kernel raises SIGPIPE with it.
        var o = ChildOptions(standardInput: .pipe)
        o.method = m
        let reader = try ChildProcess(entry: report, arguments: Number(n: 0), options: o)
        try reader.start()
        do {
            try reader.standardInput!.write(Array("one line\n".utf8) + [UInt8](repeating: 7, count: 1 << 20))
            print("mid-write stdin write succeeded")
        } catch {
            print("mid-write stdin write error \(error.code) errno=\(error.errno ?? 0)")
        }
        print("reader \(try await reader.join())")
        let (a, b) = try Connection.pipe(duplex: false)
        b.close()
        do {
            try a.sendBytes([1, 2, 3])
            print("one-way send succeeded")
        } catch {
            print("one-way send error \(error.code)")
        }
        print("done")
    }
}
