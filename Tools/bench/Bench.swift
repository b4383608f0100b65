// forkline-bench: Forkline beside its physical limit (a bare fork / posix_spawn of this same
// binary) and beside CPython's multiprocessing, in the same run, with ratios.
//
// Arguments: see `Bench.usage` (`forkline-bench --help`); docs/benchmarks.md has the figures.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct Empty: Codable, Sendable {}
let noop = EntryPoint<Empty>("noop") { _ in }

@main
enum Bench {
    static let flags: Set<String> = ["--quick", "--json", "--channels", "--replay", "--start", "--forkserver", "--fork", "--spawn",
                                     "--pool", "--pool-bytes", "--pool-service", "--faults", "--no-pool", "--recording", "--waits", "--cluster", "--queue", "--write-docs"]
    static let usage = """
        usage: forkline-bench [--quick] [--json] [--channels | --replay | --pool | --start [--fork] [--forkserver] [--spawn]]
          --quick       fewer rounds (a smoke run; figures are not to be quoted)
          --json        figures as JSON instead of a Markdown table
          --channels    only the channel figures (and encoding costs)
          --replay      only the replay figures
          --pool        only the pool figures
          --pool-bytes  only the pool figure for 256 KiB [UInt8] tasks (with its Connection peer)
          --pool-service  only the 16-caller light-task figures (with their Dispatch peer)
          --start       only the start+join figures, without CPython; --fork, --forkserver, --spawn:
                        only that method's row (several may be given)
          --recording   only the per-event recording figures
          --waits       only the uncontended Lock and Queue rows, traced and not (wait records' cost)
          --cluster     only the Slurm pool figures (inside an allocation: Tools/cluster-bench)
          --no-pool     the full run without the pool figures
          --faults      also print the children's page faults per start+join
          --queue       only the queue throughput figures
          --write-docs  after a full run (or --queue: its rows only), replace docs/benchmarks.md's
                        table (run from the repository's root)
        """

    static func main() async throws {
        // A bare re-execution of this binary for the spawn baseline: exit before anything else.
        if CommandLine.arguments.dropFirst().first == "--noop" { fl_exit_now(0) }
        ChildProcess.bootstrap(entries: [noop] + PoolBench.entries + PoolBytesBench.entries + PoolServiceBench.entries)
        // A re-execution that runs this program's main through bootstrap's registration of its
        // entries (what every spawn child of this program runs before Forkline's own start),
        // then exits: the peer of the unjudged row that sets that part apart.
        if CommandLine.arguments.dropFirst().first == "--noop-registered" { fl_exit_now(0) }
        let args = Set(CommandLine.arguments.dropFirst())
        if args.contains("--help") || args.contains("-h") { return print(usage) }
        if let unknown = CommandLine.arguments.dropFirst().first(where: { !flags.contains($0) }) {
            writeStderr("forkline-bench: unknown argument '\(unknown)'\n\(usage)\n")
            fl_exit_now(64)
        }
        let quick = args.contains("--quick")
        let json = args.contains("--json")
        var figures: [Figure] = []
        if args.contains("--channels") { return try ChannelBench.main(quick: quick, json: json) }
        if args.contains("--queue") { return try QueueBench.main(quick: quick, json: json, writeDocs: args.contains("--write-docs")) }
        if args.contains("--replay") { return ReplayBench.run(quick: quick) }
        if args.contains("--pool-bytes") {
            let f = try await PoolBytesBench.figures(quick: quick)
            return print(json ? Report.json(f) : Report.table(f))
        }
        if args.contains("--pool-service") {
            let f = try await PoolServiceBench.figures(quick: quick)
            return print(json ? Report.json(f) : Report.table(f))
        }
        if args.contains("--pool") { return try await PoolBench.main(quick: quick, json: json) }
        if args.contains("--waits") {
            let f = WaitBench.figures(quick: quick)
            return print(json ? Report.json(f) : Report.table(f))
        }
        if args.contains("--cluster") { return try await ClusterBench.main(quick: quick, json: json) }
        if args.contains("--recording") {
            let f = recordingCost(quick: quick)
            _ = system("rm -rf \(traceDirectory)")
            return print(json ? Report.json(f) : Report.table(f))
        }
        let rounds = quick ? 3 : 7
        let perRound = quick ? 20 : 60

        let chosen: [StartMethod] = [.fork, .forkserver, .spawn].filter { args.contains("--\($0)") }
        let methods: [StartMethod] = chosen.isEmpty ? [.fork, .forkserver, .spawn] : chosen
        for method in methods {
            let n = method == .spawn ? perRound / 2 : perRound
            var ours: [Double] = [], bare: [Double] = []
            // Warm-up: starts the forkserver and the join monitor.
            _ = try startJoin(method)
            for _ in 0..<rounds {
                for _ in 0..<n { ours.append(try startJoin(method)) }
                for _ in 0..<n { bare.append(method == .spawn ? bareSpawn() : bareFork()) }
            }
            let peer = method == .spawn ? "bare posix_spawn of this binary" : "bare fork+_exit+waitpid"
            figures.append(Figure(name: "start+join, \(method)", unit: "ms", ours: ours.map { $0 / 1e6 },
                                  peerName: peer, peer: bare.map { $0 / 1e6 }))
            if method == .spawn {
                // Not judged: the same start+join beside a spawn of this binary that also runs its
                // main through the entries' registration, so the figure is Forkline's share alone.
                var ours: [Double] = [], registered: [Double] = []
                for _ in 0..<rounds {
                    for _ in 0..<n { ours.append(try startJoin(method)) }
                    for _ in 0..<n { registered.append(bareSpawn(argument: "--noop-registered")) }
                }
                figures.append(Figure(name: "start+join, spawn, beside a spawn that registers the same entries", unit: "ms",
                                      ours: ours.map { $0 / 1e6 }, peerName: "bare posix_spawn of this binary through its bootstrap(entries:)",
                                      peer: registered.map { $0 / 1e6 }))
            }
        }
        if args.contains("--faults") {
            // Page faults per start+join (getrusage): of the reaped children, and of this process
            // (after a fork the parent's first write to each page it shares with the child faults).
            // And the CPU time (user + system) each side used: less swayed by a loaded machine
            // than the wall time.
            struct Cost { var childFaults = 0.0, parentFaults = 0.0, childCPU = 0.0, parentCPU = 0.0 }
            func faults(_ body: () throws -> Void) rethrows -> Cost {
                var a = rusage(), b = rusage(), c = rusage(), d = rusage()
                func us(_ r: rusage) -> Double {
                    Double(r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + Double(r.ru_utime.tv_usec + r.ru_stime.tv_usec)
                }
                getrusage(RUSAGE_CHILDREN.rawValue, &a)
                getrusage(RUSAGE_SELF.rawValue, &c)
                for _ in 0..<200 { try body() }
                getrusage(RUSAGE_SELF.rawValue, &d)
                getrusage(RUSAGE_CHILDREN.rawValue, &b)
                return Cost(childFaults: Double(b.ru_minflt - a.ru_minflt) / 200, parentFaults: Double(d.ru_minflt - c.ru_minflt) / 200,
                            childCPU: (us(b) - us(a)) / 200, parentCPU: (us(d) - us(c)) / 200)
            }
            for method in methods {
                // The forkserver's children of this process are its own (CLONE_PARENT): counted here too.
                let ours = try faults { _ = try startJoin(method) }
                let bare = method == .spawn ? faults { _ = bareSpawn() } : faults { _ = bareFork() }
                let peer = method == .spawn ? "bare posix_spawn" : "bare fork"
                func f(_ x: Double) -> String { Report.fmt(x) }
                print("per start+join, \(method): child \(f(ours.childFaults)) faults \(f(ours.childCPU)) us CPU, parent \(f(ours.parentFaults)) faults \(f(ours.parentCPU)) us CPU; \(peer): child \(f(bare.childFaults)) faults \(f(bare.childCPU)) us, parent \(f(bare.parentFaults)) faults \(f(bare.parentCPU)) us")
            }
        }
        if args.contains("--start") { return print(json ? Report.json(figures) : Report.table(figures)) }
        // Untraced figures first: recordingCost turns tracing on for the rest of the run.
        figures += LockBench.figures(quick: quick)
        figures += try ChannelBench.figures(quick: quick)
        if !args.contains("--no-pool") { figures += try await PoolBench.figures(quick: quick) }
        figures += try await MemoryBench.poolFigures(quick: quick)
        let untracedChild = try MemoryBench.recordingChild()
        figures += recordingCost(quick: quick)
        figures.append(Figure(name: "peak RSS of a child recording 200k events", unit: "MiB",
                              ours: try MemoryBench.recordingChild(),
                              peerName: "the same child untraced", peer: untracedChild))
        figures += try await TracingBench.figures(untraced: figures, quick: quick)
        _ = system("rm -rf \(traceDirectory)")
        ReplayBench.run(quick: quick)
        if let python = Python.find() {
            for method in ["fork", "forkserver", "spawn"] {
                if let samples = Python.startJoin(python, method: method, iterations: method == "spawn" ? (quick ? 5 : 15) : (quick ? 20 : 60)),
                   let i = figures.firstIndex(where: { $0.name == "start+join, \(method)" }) {
                    figures[i].python = samples
                }
            }
        } else {
            print("python3 not found: CPython figures skipped")
        }
        if json { print(Report.json(figures)) } else { print(Report.table(figures)) }
        if args.contains("--write-docs") { Targets.writeDocs(figures, quick: quick) }
    }

    /// One start+join of a child that does nothing, in ns.
    static func startJoin(_ method: StartMethod) throws -> Double {
        let t0 = fl_monotonic_ns()
        let child = method == .fork
            ? ChildProcess { }
            : try ChildProcess(entry: noop, arguments: Empty(), options: ChildOptions(method: method))
        try child.start()
        _ = try child.join(timeout: nil)
        return Double(fl_monotonic_ns() - t0)
    }

    static func bareFork() -> Double {
        let t0 = fl_monotonic_ns()
        let pid = fork()
        if pid == 0 { fl_exit_now(0) }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return Double(fl_monotonic_ns() - t0)
    }

    /// One posix_spawn+waitpid of this binary with `argument` (`--noop`: it exits at the top of
    /// main), in ns.
    static func bareSpawn(argument: String = "--noop") -> Double {
        let t0 = fl_monotonic_ns()
        var pid: pid_t = 0
        let argv = [strdup("/proc/self/exe"), strdup(argument), nil]
        defer { for p in argv { free(p) } }
        _ = posix_spawn(&pid, "/proc/self/exe", nil, nil, argv, environ)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return Double(fl_monotonic_ns() - t0)
    }

    /// Where the traced figures record (removed at the end): under `FORKLINE_BENCH_TRACE_ROOT`.
    static let traceDirectory = "\(traceRoot)/forkline-bench-\(getpid())"

    /// ns per event for the cheapest event (a static mark), a run-time string mark, and a
    /// generic record (a join, through the table-driven codec).
    static func recordingCost(quick: Bool) -> [Figure] {
        // First the static mark into a trace on tmpfs, beside the same into the run's trace
        // directory (ext4 here): on a disk's file system the kernel's making and writing back of
        // the file's pages can keep the grower thread behind the recording thread, which then
        // waits for its next chunk (docs/trace-format.md, "What recording costs").
        let inMemory = traceInMemory(quick: quick)
        let dir = traceDirectory
        do { try Tracer.start(directory: dir) } catch {
            print("tracing unavailable: \(error)")
            return []
        }
        // Each sample records 16 MiB of events, eight chunks' worth once chunks have grown to
        // their 2 MiB maximum, so every sample pays for the same share of chunk grows (a busy
        // process's chunks are made by its grower thread: a sample's CPU figures are the recording
        // thread's, its wall figures include any wait for a chunk not yet made). With a fixed
        // count the two labels' different record sizes put the grows in one row's samples and not
        // the other's, which made either row look 2.5x the other (docs/benchmarks.md).
        let chunk = 16 << 20
        func events(label bytes: Int) -> Int { chunk / (24 + (2 + bytes + 7) / 8 * 8) }
        let staticLabel: StaticString = "a static label"
        let label = "a run-time label"
        let nStatic = events(label: staticLabel.utf8CodeUnitCount), nString = events(label: label.utf8.count)
        var staticMark: [Double] = [], stringMark: [Double] = [], staticCPU: [Double] = [], stringCPU: [Double] = []
        for _ in 0..<(quick ? 3 : 7) {
            var t0 = fl_monotonic_ns(), c0 = CPUTime.thread()
            for _ in 0..<nStatic { Tracer.mark(staticLabel) }
            staticMark.append(Double(fl_monotonic_ns() - t0) / Double(nStatic))
            staticCPU.append(Double(CPUTime.thread() - c0) / Double(nStatic))
            t0 = fl_monotonic_ns()
            c0 = CPUTime.thread()
            for _ in 0..<nString { Tracer.mark(label) }
            stringMark.append(Double(fl_monotonic_ns() - t0) / Double(nString))
            stringCPU.append(Double(CPUTime.thread() - c0) / Double(nString))
        }
        // The peer: the design Forkline rejected, one write() of the same record per event.
        let writes = writeCost(nString / 4, dir: dir)
        let writesCPU = CPUTime.writeCost(nString / 4, dir: dir)
        return CPUTime.recordingFigures(staticMark: staticCPU, stringMark: stringCPU, writes: writesCPU) + [
            Figure(name: "record one event (static mark)", unit: "ns", ours: staticMark, peerName: "one write() per event", peer: writes),
            Figure(name: "record one event (String mark)", unit: "ns", ours: stringMark, peerName: "one write() per event", peer: writes),
        ] + (inMemory.map { [Figure(name: "record one event (static mark), trace on tmpfs", unit: "ns", ours: $0,
                                     peerName: "the same, trace in \(traceRoot)", peer: staticMark)] } ?? [])
    }

    /// The trace root of the traced figures (`FORKLINE_BENCH_TRACE_ROOT`, default /tmp).
    static var traceRoot: String { getenv("FORKLINE_BENCH_TRACE_ROOT").map { String(cString: $0) } ?? "/tmp" }

    /// ns per static mark (wall) into a trace under /dev/shm, as `recordingCost` samples them;
    /// nil without /dev/shm or when the run's traces are there already.
    static func traceInMemory(quick: Bool) -> [Double]? {
        guard traceRoot != "/dev/shm", access("/dev/shm", W_OK) == 0 else { return nil }
        let dir = "/dev/shm/forkline-bench-\(getpid())-tmpfs"
        do { try Tracer.start(directory: dir) } catch { return nil }
        defer {
            Tracer.stop()
            _ = system("rm -rf \(dir)")
        }
        let label: StaticString = "a static label"
        let n = (16 << 20) / 40  // 16 MiB of 40-byte records, as recordingCost's samples
        return (0..<(quick ? 3 : 7)).map { _ in
            let t0 = fl_monotonic_ns()
            for _ in 0..<n { Tracer.mark(label) }
            return Double(fl_monotonic_ns() - t0) / Double(n)
        }
    }

    static func writeCost(_ n: Int, dir: String) -> [Double] {
        let fd = open("\(dir)/write-peer", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        defer { close(fd) }
        let record = [UInt8](repeating: 7, count: 40)
        var out: [Double] = []
        for _ in 0..<3 {
            let t0 = fl_monotonic_ns()
            record.withUnsafeBytes { r in for _ in 0..<n { _ = write(fd, r.baseAddress, 40) } }
            out.append(Double(fl_monotonic_ns() - t0) / Double(n))
        }
        return out
    }
}
