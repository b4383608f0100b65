import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Files that are not traces: never a hang, memory bounded by the trace's real size")
struct NotATraceTests {
    @Test("a FIFO, /dev/zero and an 8 GiB sparse file among the trace files: replay finishes, reports them, loads the rest")
    func notRegularOrSparse() throws {
        let dir = Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let golden = try Trace.load(path: LoaderTests.fixtures + "/valid/four-fork-children.jsonl")
        #expect(golden.check().ok)
        for p in golden.processes { try Scratch.write(p.binaryBytes(), "\(dir)/\(p.header.pid).\(hex16(p.header.puid)).flt") }
        #expect(mkfifo("\(dir)/x.flt", 0o644) == 0)
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/z.flt", withDestinationPath: "/dev/zero")
        // The root's sound trace, then 8 GiB of hole: the trace ends at its first empty record.
        let root = try #require(golden.process(named: "main"))
        let sparse = "\(dir)/\(root.header.pid).\(hex16(root.header.puid)).flt"
        #expect(truncate(sparse, 8 << 30) == 0)
        // The address space limit (2 GiB) makes reading the sparse file whole fail; a FIFO with no
        // writer would block an open or read for ever (the timeout fails the test instead).
        let out = try TestSupport.run("/bin/bash", ["-c", "ulimit -v 2097152 && exec \"$0\" check \"$1\"", Executables.replay, dir],
                                      timeout: 120)
        #expect(out.status == 1, "damaged inputs are reported: \(out.stdout) \(out.stderr)")
        #expect(out.stdout.contains("x.flt: not a regular file"), "\(out.stdout)")
        #expect(out.stdout.contains("z.flt: not a regular file"), "\(out.stdout)")
        #expect(out.stdout.contains("FAILED: 2 violation(s)"), "only the two files that are not traces: \(out.stdout)")
        let trace = try Trace.load(path: dir)
        #expect(trace.processes.count == golden.processes.count)
        #expect(Set(trace.processes.map(\.events)) == Set(golden.processes.map(\.events)))
        #expect(trace.processes.allSatisfy { $0.damage.isEmpty })
        #expect(trace.unreadable.count == 2)
    }

    @Test("a FIFO or a device given as the trace is refused at once")
    func singleSpecialFile() throws {
        let dir = Scratch.directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(mkfifo("\(dir)/x.flt", 0o644) == 0)
        for path in ["\(dir)/x.flt", "/dev/zero"] {
            let out = try TestSupport.run(Executables.replay, ["check", path], timeout: 120)
            #expect(out.status == 2, "\(out.stdout) \(out.stderr)")
            #expect((out.stdout + out.stderr).contains("not a regular file"), "\(out.stdout) \(out.stderr)")
        }
    }
}
