// Scoped children: the scope's end always ends and joins the child (grace, SIGTERM, SIGKILL).
import Forkline
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Ignores SIGTERM, then sleeps: only SIGKILL ends it.
let ignoreTerm = EntryPoint<Number>("ignore-term") { args in
    signal(SIGTERM, SIG_IGN)
    sleep(UInt32(args.n))
}

struct ScopeFailure: Error {}

/// Waits until process `pid` ignores SIGTERM (its /proc status's SigIgn mask), up to 120 s: the
/// scope's grace period must not run out before the child got as far as ignoring it (a loaded
/// machine can take longer than the 300 ms grace to start a forkserver or spawn child).
func awaitIgnoresTerm(_ pid: Int32) {
    let deadline = time(nil) + 120
    while time(nil) < deadline {
        if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("SigIgn:") }),
           let mask = UInt64(line.dropFirst("SigIgn:".count).trimmingCharacters(in: .whitespaces), radix: 16),
           mask & (1 << UInt64(SIGTERM - 1)) != 0 { return }
        usleep(1_000)
    }
}

enum Scoped {
    static func scope(_ m: StartMethod, _ label: String, _ entry: EntryPoint<Number>, _ n: Int,
                      _ closure: @escaping @Sendable () throws -> Void, throwing: Bool = false,
                      ignoresTerm: Bool = false) async {
        let teardown = Teardown(gracePeriod: .milliseconds(300), terminationGrace: .milliseconds(500))
        do {
            let body: (ChildProcess) async throws -> Int = { child in
                if throwing { throw ScopeFailure() }
                if ignoresTerm, let pid = child.pid { awaitIgnoresTerm(pid) }
                return Int(child.pid ?? 0) > 0 ? 7 : -1
            }
            let (v, status) = m == .fork
                ? try await ChildProcess.withChild(options: ChildOptions(method: .fork), teardown: teardown, running: closure, body)
                : try await ChildProcess.withChild(entry: entry, arguments: Number(n: n), options: ChildOptions(method: m), teardown: teardown, body)
            print("\(label) value \(v) \(status)")
        } catch is ScopeFailure {
            print("\(label) threw ScopeFailure")
        } catch {
            print("\(label) error \(error)")
        }
    }

    /// `scoped METHOD`: a child that exits by itself, one that sleeps (SIGTERM ends it), one that
    /// ignores SIGTERM (SIGKILL ends it), a body that throws; then the zombie count, and a closure
    /// given the spawn method.
    static func run(method m: StartMethod) async {
        await scope(m, "exits", work, 1, { })
        await scope(m, "sleeps", sleeper, 600, { sleep(600) })
        await scope(m, "ignores", ignoreTerm, 600, { signal(SIGTERM, SIG_IGN); sleep(600) }, ignoresTerm: true)
        await scope(m, "throws", sleeper, 600, { sleep(600) }, throwing: true)
        print("zombies \(Zombies.count())")
        let c = ChildProcess(options: ChildOptions(method: .spawn)) { }
        do { try c.start(); print("closure with spawn started") } catch { print("closure with spawn \(error.code)") }
    }
}

enum ForeignReap {
    /// `foreign-reap METHOD`: the program itself reaps its child with waitpid before Forkline
    /// does; `join` must say the status is lost, not invent one. Prints `join CODE errno=N`.
    static func run(method m: StartMethod) async {
        do {
            let c = try child({ }, entry: behave, "return")
            try c.start()
            var status: Int32 = 0
            _ = waitpid(c.pid!, &status, 0)  // a foreign reaper: the child is gone for Forkline
            print("join \(try await c.join())")
        } catch let error as SpawnError {
            print("join \(error.code) errno=\(error.errno ?? 0)")
        } catch {
            print("join other \(error)")
        }
    }
}

enum ScopedTracing {
    /// `scoped-tracing METHOD DIR`: a child started and joined inside `Tracer.withTracing`, one
    /// after it; only the first is in the trace, whose check must pass.
    static func run(method m: StartMethod, dir: String) async throws {
        let inside = try await Tracer.withTracing(directory: dir) { () async throws -> ExitStatus in
            Tracer.mark("inside")
            let c = try child({ }, entry: behave, "return")
            try c.start()
            return try await c.join()
        }
        print("inside \(inside) tracing \(Tracer.isEnabled)")
        let c = try child({ }, entry: behave, "return")
        try c.start()
        print("after \(try await c.join())")
    }
}
