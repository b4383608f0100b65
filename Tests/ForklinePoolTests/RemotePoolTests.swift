import Foundation
import ForklinePool
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Pools whose workers are launched processes that connect back over TCP (127.0.0.1, real
/// sockets, the key handshake), the `.processes` launcher standing in for Slurm.
@Suite("Pools with remote workers: launched processes connected over TCP")
struct RemotePoolTests {
    /// Runs a remote-pool scenario traced; checks the trace and that no remote worker is left.
    func run(_ scenario: String) throws -> (lines: [String], trace: Trace, remotes: [ProcessTrace]) {
        // A TMPDIR of its own: the pool's fresh key goes in a private directory there, which
        // must be gone when the program ends.
        let tmp = TestSupport.temporaryDirectory("forkline-remote-tmp")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        let (out, dir) = try TestSupport.runFixture([scenario, "forkserver"], environment: ["TMPDIR": tmp])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp).isEmpty, "the pool's key directory was left behind")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        // A remote worker is a process of its own (no fork made it: the launcher started it)
        // whose parent is one of the pool's worker processes, its local end.
        let proxies = Set(trace.processes.filter { $0.name.hasPrefix("PoolWorker-") }.map(\.header.pid))
        let remotes = trace.processes.filter { proxies.contains($0.header.ppid) && ($0.start?["forkerPuid"]?.uint ?? 0) == 0 }
        #expect(TestSupport.survivors(remotes.map(\.header.pid), within: 10).isEmpty, "a remote worker outlived its pool")
        return (out.lines, trace, remotes)
    }

    @Test("ordered map, automatic chunks and imap run in the remote workers, every task message received over TCP")
    func map() throws {
        let (lines, trace, remotes) = try run("pool-remote-map")
        #expect(lines == ["map true", "chunks true", "imap true", "ran in other processes than the pool's own true", "remote workers used true", "remote workers left 0"])
        #expect(remotes.count == 3)
        // Each remote worker received its batches over the TCP connection: every recv names a
        // send of its local end, which happened before it.
        let proxyPuids = Set(trace.processes.filter { $0.name.hasPrefix("PoolWorker-") && !$0.name.contains("(remote") }.map(\.header.puid))
        for r in remotes {
            let recvs = r.events.filter { $0.kind == .recv }
            #expect(!recvs.isEmpty)
            for e in recvs {
                let send = EventID(puid: e["senderPuid"]?.uint ?? 0, seq: e["sendSeq"]?.uint ?? 0)
                #expect(proxyPuids.contains(send.puid))
                #expect(trace.happensBefore(send, e.id))
            }
        }
    }

    @Test("each remote worker is named as its local end's pool worker, remote, on its host, and its start names that local end")
    func names() throws {
        let tmp = TestSupport.temporaryDirectory("forkline-remote-tmp")
        let (out, dir) = try TestSupport.runFixture(["pool-remote-map", "forkserver"], environment: ["TMPDIR": tmp])
        #expect(out.status == 0, "\(out.stderr)")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        var name = [CChar](repeating: 0, count: 256)
        _ = gethostname(&name, 255)
        let host = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // The launcher (not a fork) made each: the ones whose parent process is a local end.
        let locals = trace.processes.filter { $0.name.hasPrefix("PoolWorker-") && $0.method != .root && ($0.start?["forkerPuid"]?.uint ?? 0) != 0 }
        let remotes = trace.processes.filter { r in locals.contains { $0.header.pid == r.header.ppid } }
        #expect(remotes.count == 3)
        for r in remotes {
            let local = try #require(locals.first { $0.header.pid == r.header.ppid })
            #expect(r.name == "\(local.name) (remote, \(host))")
            // Its start ties it to the pool: its logical parent is its local end (whose own
            // parent is the pool's driver), and its method says a launcher started it.
            #expect(r.start?["parentPuid"]?.uint == local.header.puid)
            #expect(r.method?.description == "remote")
            #expect(r.start?["entry"]?.string == "forkline-remote-worker")
            #expect(trace.parent(of: r)?.header.puid == local.header.puid)
        }
        // What `replay show` prints at its default width: a lane for each, labelled with its pid
        // and whole name (labels take up to 48 columns; before, 32 cut the host off).
        let shown = try TestSupport.run(TestSupport.executable("replay"), ["show", dir])
        #expect(shown.status == 0, "\(shown.stderr)")
        for r in remotes {
            let label = "\(r.header.pid) \(r.name)"
            #expect(shown.lines.contains { $0.hasPrefix(String(label.prefix(47))) }, "\(shown.stdout)")
        }
    }

    @Test("a remote worker SIGKILLed mid-map fails only its task, with its host named, and is replaced through the launcher")
    func killed() throws {
        let (lines, trace, remotes) = try run("pool-remote-crash")
        #expect(lines == ["0 ok 0", "5 ok 5", "1 workerDied host-named=true", "6 ok 6", "7 ok 7", "8 ok 8", "after true", "remote workers left 0"])
        #expect(trace.events(.workerReplaced).count == 1)
        #expect(remotes.count == 3, "two remote workers and the replacement")
    }

    @Test("a remote task past its timeout: its worker is killed (the remote process with it) and replaced; the others finish")
    func timeout() throws {
        let (lines, _, remotes) = try run("pool-remote-timeout")
        #expect(lines == ["slow timedOut", "fast [1, 2, 3, 4]", "after 25", "remote workers left 0"])
        #expect(remotes.count == 3)
    }

    @Test("maxTasksPerChild retires remote workers after their tasks and launches new ones")
    func maxTasks() throws {
        let (lines, _, remotes) = try run("pool-remote-max-tasks")
        #expect(lines == ["workers at least 5 true", "max per worker 2", "remote workers left 0"])
        #expect(remotes.count >= 5, "five ran the tasks; one more may be launched as the pool closes")
    }

    @Test("a launcher that cannot run, or whose worker never connects back: tasks fail with workerStartFailed saying why, nothing hangs")
    func badLaunchers() throws {
        let (lines, _, _) = try run("pool-remote-bad-launcher")
        #expect(lines == ["missing-launcher workerStartFailed says-why=true", "never-connects workerStartFailed says-why=true",
                          "launcher-fails workerStartFailed says-why=true", "remote workers left 0"])
    }

    @Test("bad settings are typed errors before anything starts: the fork method, no workers, a key file others can read")
    func badSettings() throws {
        let remote = RemoteWorkers(launcher: .processes)
        let fork = #expect(throws: PoolError.self) { try Pool(remote: remote, workers: 1, method: .fork) }
        #expect(fork?.code == .invalidArgument)
        #expect(throws: PoolError.self) { try Pool(remote: remote, workers: 0) }
        let dir = TestSupport.temporaryDirectory("forkline-remote-key")
        try "k".write(toFile: dir + "/key", atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/key")
        let open = #expect(throws: PoolError.self) { try Pool(remote: RemoteWorkers(launcher: .processes, keyFile: dir + "/key"), workers: 1) }
        #expect(open?.code == .invalidArgument && open?.message.contains("chmod 600") == true)
    }

    @Test("launchers build the command lines they document")
    func commandLines() {
        let srun = WorkerLauncher.slurm(nodes: 3, tasksPerNode: 2, partition: "short", timeLimit: .seconds(90))
        #expect(srun.impliedWorkers == 6)
        #expect(srun.commandLine(slot: 5, program: "/p") == ["srun", "--nodes=1", "--ntasks=1", "--relative=2", "--job-name=forkline-worker-5",
                                                             "--kill-on-bad-exit=1", "--partition=short", "--time=2", "/p"])
        let sbatch = WorkerLauncher.slurm(nodes: 1, submission: .sbatch)
        #expect(sbatch.commandLine(slot: 0, program: "/a b/it's") == ["sbatch", "--wait", "--nodes=1", "--ntasks=1", "--job-name=forkline-worker-0",
                                                                        "--output=/dev/null", "--export=ALL", "--wrap=exec '/a b/it'\\''s'"])
        #expect(WorkerLauncher.command(["ssh", "n1"]).commandLine(slot: 0, program: "/p") == ["ssh", "n1", "/p"])
        #expect(WorkerLauncher.processes.commandLine(slot: 3, program: "/p") == ["/p"])
    }
}
