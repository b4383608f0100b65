// Scenarios for how a crashing child ends: once its crash is recorded, no thread of it goes on,
// it dies of the crash's signal at once, and the Swift runtime's crash report does not run.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct CrashHow: Codable, Sendable { var how: String; var threads: Int }

/// Starts `threads` threads that mark the trace as fast as they can, then crashes as `how` says
/// (`raise`: raise(SIGSEGV); `segv`: a bad store; `fatal`: fatalError; `abort`). Whatever runs
/// after the crash prints `after-crash`: a test fails if it appears.
let crashWithThreads = EntryPoint<CrashHow>("crash-with-threads") { args in
    CrashEndings.crash(args)
}

enum CrashEndings {
    static func crash(_ args: CrashHow) {
        for _ in 0..<args.threads {
            var tid = pthread_t()
            _ = pthread_create(&tid, nil, { _ in
                while true { Tracer.mark("busy") }
            }, nil)
        }
        usleep(20_000)  // the threads are marking by now
        switch args.how {
        case "raise": raise(SIGSEGV)
        case "segv": Behaviours.crashHere()
        case "fatal": Behaviours.fatalHere()
        case "abort": abort()
        default: exit(99)
        }
        print("after-crash")
        fflush(nil)
        exit(0)
    }

    /// `crash-ends METHOD`: one child per way of crashing, each with 3 busy threads; prints
    /// `HOW STATUS` per child.
    static func run(method m: StartMethod) throws {
        for how in ["raise", "segv", "fatal", "abort"] {
            let args = CrashHow(how: how, threads: 3)
            let c = m == .fork
                ? ChildProcess(options: ChildOptions(name: "crash-\(how)", method: .fork)) { CrashEndings.crash(args) }
                : try ChildProcess(entry: crashWithThreads, arguments: args, options: ChildOptions(name: "crash-\(how)", method: m))
            try c.start()
            print("\(how) \(try c.join(timeout: .seconds(60)).map { "\($0)" } ?? "still running")")
        }
    }
}

/// Never listed in `bootstrap(entries:)`: a spawn or forkserver child cannot run it.
let unregistered = EntryPoint<Number>("unregistered") { _ in }

/// `no-bootstrap METHOD`: run with FIXTURE_SKIP_BOOTSTRAP=1, so `main` never calls bootstrap.
/// Starting a child and a pool must fail at once, with errors that say what to do.
enum MissingBootstrap {
    static func run(method m: StartMethod) async {
        do {
            let c = try ChildProcess(entry: unregistered, arguments: Number(n: 1), options: ChildOptions(method: m))
            try c.start()
            print("child started \(try await c.join())")
        } catch let e as SpawnError {
            print("child \(e.code): \(e.message)")
        } catch { print("child other: \(error)") }
        do {
            let r = try await withPool(workers: 1, method: m) { pool in try await pool.apply(poolSquare, 3) }
            print("pool result \(r)")
        } catch let e as PoolError {
            print("pool \(e.code): \(e.message)")
        } catch { print("pool other: \(error)") }
        print("zombies \(Zombies.count())")
    }
}
