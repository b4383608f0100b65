import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// A small tmpfs mounted for one test (the suite runs as root in CI, as `Tools/test` does).
struct SmallFileSystem: ~Copyable {
    let path: String

    init(bytes: Int, readOnly: Bool = false, prepare: (String) throws -> Void = { _ in }) throws {
        path = TestSupport.temporaryDirectory("forkline-smallfs")
        let mounted = try TestSupport.run("/bin/mount", ["-t", "tmpfs", "-o", "size=\(bytes)", "tmpfs", path], timeout: 10)
        guard mounted.status == 0 else {
            throw Failure("mounting a \(bytes)-byte tmpfs needs root: \(mounted.stderr)")
        }
        try prepare(path)
        if readOnly {
            let ro = try TestSupport.run("/bin/mount", ["-o", "remount,ro", path], timeout: 10)
            guard ro.status == 0 else { throw Failure("remounting read-only failed: \(ro.stderr)") }
        }
    }

    deinit {
        _ = try? TestSupport.run("/bin/umount", ["-l", path], timeout: 10)
        try? FileManager.default.removeItem(atPath: path)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }
}

@Suite("The trace's disk fills up or is read-only: the program runs on")
struct TraceStorageFaultTests {
    @Test("a full disk stops tracing with one warning; the program finishes; the trace says where it was cut")
    func diskFills() throws {
        // Room for the root's first chunks (4 KiB doubling to 128 KiB, 252 KiB in all), not for the
        // next one (256 KiB); the child then still has room for its own 4 KiB file, whose start
        // names a fork the root could no longer record.
        let fs = try SmallFileSystem(bytes: 400 << 10)
        let dir = fs.path + "/trace"
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["trace-fills", "fork", "50000"],
                                      environment: [Tracer.environmentVariable: dir], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["child exited(0)", "done"])
        let stopped = out.stderr.split(separator: "\n").filter { $0.contains("tracing stopped") }
        #expect(stopped.count == 1, "one warning from the process whose trace filled the disk: \(out.stderr)")
        #expect(stopped.first?.contains("No space left on device") == true)

        let trace = try Trace.load(path: dir)
        let root = try #require(trace.processes.first { $0.header.pid == out.pid })
        let last = try #require(root.events.last)
        #expect(last.kind == .traceCut, "the root's file ends with the cut, got \(last.kind)")
        #expect(last["errno"]?.int == Int64(ENOSPC))
        let marks = root.events.filter { $0.kind == .mark }.count
        #expect(marks > 1000 && marks < 50_000, "the marks before the cut are kept: \(marks)")
        // Everything before the cut is sound; the cut process's missing end is not a violation.
        let report = trace.check()
        #expect(report.ok, "\(report.violations)")
    }

    @Test("a pool on a 256 KiB trace file system: check tells the missing events the cut explains from violations, and passes")
    func fullDiskPool() throws {
        let fs = try SmallFileSystem(bytes: 256 << 10)
        let dir = fs.path + "/trace"
        // Workers SIGKILLed at random while 3,000 tasks run: the root's trace is cut, most workers
        // cannot create a file at all.
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["pool-chaos", "forkserver", "3000"],
                                      environment: [Tracer.environmentVariable: dir], timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        let trace = try Trace.load(path: dir)
        #expect(trace.processes.contains { $0.wasCut }, "the disk filled: some process recorded a traceCut")
        let report = trace.check()
        #expect(report.ok, "a correct program whose trace was cut: \(report.violations.prefix(4))")
        let cutNotes = report.notes.filter { $0.contains("trace was cut") }
        #expect(cutNotes.count == trace.processes.filter(\.wasCut).count, "a note per cut: \(report.notes)")
        #expect(report.notes.contains { $0.contains("explained by the cut") }, "\(report.notes)")
    }

    @Test("a file size limit (ulimit -f) stops tracing with one warning; the program finishes; the trace loads")
    func fileSizeLimit() throws {
        let dir = TestSupport.temporaryDirectory("forkline-fsize")
        // bash's `ulimit -f` counts 1 KiB blocks: 256 KiB, less than the marks need.
        let out = try TestSupport.run("/bin/bash", ["-c", "ulimit -f 256 && exec \"$0\" trace-fills-on-this-thread fork 50000",
                                                    TestSupport.executable("forkline-fixture")],
                                      environment: [Tracer.environmentVariable: dir], timeout: 60)
        #expect(out.status == 0, "killed by SIGXFSZ? status \(out.status): \(out.stderr)")
        #expect(out.lines == ["done"])
        let stopped = out.stderr.split(separator: "\n").filter { $0.contains("tracing stopped") }
        #expect(stopped.count == 1, "\(out.stderr)")
        #expect(stopped.first?.contains("File too large") == true, "\(out.stderr)")
        let trace = try Trace.load(path: dir)
        let root = try #require(trace.processes.first { $0.header.pid == out.pid })
        #expect(root.damage.isEmpty, "\(root.damage)")
        #expect(root.events.last?.kind == .traceCut)
        #expect(root.events.last?["errno"]?.int == Int64(EFBIG))
        #expect(root.events.filter { $0.kind == .mark }.count > 1000)
        let report = trace.check()
        #expect(report.ok, "\(report.violations)")
    }

    @Test("a read-only trace directory disables tracing with a clear warning; the program finishes")
    func readOnly() throws {
        let fs = try SmallFileSystem(bytes: 1 << 20, readOnly: true) { path in
            try FileManager.default.createDirectory(atPath: path + "/trace", withIntermediateDirectories: true)
        }
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["trace-fills", "forkserver", "10"],
                                      environment: [Tracer.environmentVariable: fs.path + "/trace"], timeout: 60)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["child exited(0)", "done"])
        let warnings = out.stderr.split(separator: "\n").filter { $0.contains("forkline: tracing disabled") }
        #expect(!warnings.isEmpty && warnings.allSatisfy { $0.contains("Read-only file system") }, "\(out.stderr)")
        // One warning per process at most: the parent, the forkserver and the child each try.
        #expect(warnings.count <= 3, "\(out.stderr)")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: fs.path + "/trace"))?.isEmpty == true)
    }
}
