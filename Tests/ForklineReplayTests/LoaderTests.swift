import Foundation
import ForklineReplay
import ForklineTrace
import Testing

@Suite("Loading traces")
struct LoaderTests {
    static let fixtures = GoldenFixtureTests.root.path

    /// Writes each process of `trace` as a binary file `<pid>.<puid>.flt` into a new directory.
    static func binaryDirectory(_ trace: Trace) throws -> String {
        let dir = Scratch.directory()
        for p in trace.processes {
            try Scratch.write(p.binaryBytes(), "\(dir)/\(p.header.pid).\(hex16(p.header.puid)).flt")
        }
        return dir
    }

    @Test("binary -> JSON Lines -> trace gives back the same processes", arguments: GoldenFixtures.all().map(\.name))
    func roundTrip(name: String) throws {
        let original = try #require(GoldenFixtures.all().first { $0.name == name }).trace
        let fromBinary = try Trace.load(path: try Self.binaryDirectory(original))
        let sorted = original.processes.sorted { "\($0.header.pid).\(hex16($0.header.puid))" < "\($1.header.pid).\(hex16($1.header.puid))" }
        #expect(fromBinary.processes.map(\.header) == sorted.map(\.header))
        #expect(fromBinary.processes.map(\.events) == sorted.map(\.events))
        let text = JSONLines.export(fromBinary)
        let back = try JSONLines.parse(Array(text.utf8), source: "round-trip")
        #expect(back.map(\.header) == fromBinary.processes.map(\.header))
        #expect(back.map(\.events) == fromBinary.processes.map(\.events))
        #expect(back.allSatisfy { $0.damage.isEmpty })
        // Every kind's arguments survive, including hex addresses, statuses and backtraces.
        #expect(JSONLines.export(Trace(processes: back)) == text)
    }

    @Test("a binary file cut in the middle of a record keeps the records before the cut")
    func truncatedMidRecord() throws {
        let trace = try Trace.load(path: Self.fixtures + "/valid/four-fork-children.jsonl")
        let root = try #require(trace.process(named: "main"))
        let bytes = root.binaryBytes()
        // Record offsets: the header, then each record's size field.
        var offsets: [Int] = []
        var at = TraceFormat.fileHeaderSize
        while at + 4 <= bytes.count {
            let size = Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
            guard size > 0 else { break }
            offsets.append(at)
            at += size
        }
        #expect(offsets.count == root.events.count)
        let cut = offsets[3] + 12  // inside the fourth record
        let dir = Scratch.directory()
        try Scratch.write(Array(bytes[..<cut]), "\(dir)/100.\(hex16(root.header.puid)).flt")
        let loaded = try Trace.load(path: dir)
        let p = try #require(loaded.processes.first)
        #expect(p.events == Array(root.events.prefix(3)))
        #expect(p.damage.count == 1)
        #expect(p.damage.first?.contains("truncated") == true)
        let report = check(loaded)
        #expect(report.violations.contains { $0.rule == .damaged })
    }

    @Test("a garbage file beside sound ones is a load problem; the others still load and are checked")
    func garbageBesideSound() throws {
        let trace = try Trace.load(path: Self.fixtures + "/valid/spawn-child.jsonl")
        let dir = try Self.binaryDirectory(trace)
        try Scratch.write((0..<300).map { UInt8(truncatingIfNeeded: $0 &* 131) }, dir + "/9.0000000000000009.flt")
        let loaded = try Trace.load(path: dir)
        #expect(loaded.processes.count == 2)
        #expect(loaded.unreadable.count == 1)
        #expect(loaded.unreadable.first?.contains("bad magic") == true)
        let report = check(loaded)
        #expect(report.violations.map(\.rule) == [.damaged])
    }

    @Test("unreadable inputs give documented errors",
          arguments: ["missing", "empty-dir", "no-trace-files", "garbage", "newer-version", "empty-jsonl", "not-json"])
    func errors(kind: String) throws {
        let dir = Scratch.directory()
        var path = dir
        let code: ReplayError.Code
        let message: String
        switch kind {
        case "missing":
            path = dir + "/nothing-here"; code = .notFound; message = "No such file"
        case "empty-dir":
            code = .noTraceFiles; message = "no trace files"
        case "no-trace-files":
            try Scratch.write(Array("hello".utf8), dir + "/notes.txt"); code = .noTraceFiles; message = "no trace files"
        case "garbage":
            path = dir + "/1.0000000000000001.flt"
            try Scratch.write([UInt8](repeating: 0xAB, count: 100), path); code = .unreadable; message = "bad magic"
        case "newer-version":
            var bytes = ProcessTrace(header: ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0), events: []).binaryBytes()
            bytes[8] = 9
            path = dir + "/1.0000000000000001.flt"
            try Scratch.write(bytes, path); code = .unreadable; message = "version 9 is newer"
        case "empty-jsonl":
            path = dir + "/t.jsonl"; try Scratch.write([], path); code = .unreadable; message = "empty trace file"
        default:
            path = dir + "/t.jsonl"; try Scratch.write(Array("not json\n".utf8), path); code = .unreadable; message = "invalid JSON"
        }
        #expect {
            _ = try Trace.load(path: path)
        } throws: { error in
            guard let e = error as? ReplayError else { return false }
            return e.code == code && e.message.contains(message)
        }
    }

    @Test("JSON Lines: a bad line is damage of its process, the rest is read")
    func badJSONLine() throws {
        let trace = try Trace.load(path: Self.fixtures + "/invalid/damaged-line.jsonl")
        #expect(trace.processes.count == 2)
        #expect(trace.processes[0].damage.count == 1)
        #expect(trace.eventCount == 6)
        let lines = [
            #"{"process":{"pid":1,"ppid":0,"puid":"0x1","start_ns":0,"realtime_ns":0}}"#,
            #"{"pid":1,"puid":"1","seq":0,"time_ns":5,"kind":"start","args":{"parentPuid":0,"parentPid":0,"forkerPuid":"0","forkSeq":0,"method":255,"name":"main","entry":""}}"#,
            #"{"pid":1,"puid":"1","seq":1,"time_ns":6,"kind":"exit","args":{}}"#,
            #"{"pid":1,"puid":"1","seq":2,"time_ns":7,"kind":"nonsense","args":{}}"#,
            #"{"pid":1,"puid":"1","seq":3,"time_ns":8,"kind":"exit","args":{"code":18446744073709551615}}"#,
            #"{"pid":1,"puid":"1","seq":4,"time_ns":9,"kind":"exit","args":{"code":0}}"#,
        ]
        let ps = try JSONLines.parse(Array(lines.joined(separator: "\n").utf8), source: "t")
        #expect(ps[0].events.map(\.seq) == [0, 4])
        #expect(ps[0].events.first?["parentPuid"]?.uint == 0)
        #expect(ps[0].damage.count == 3)
        #expect(ps[0].damage[0].contains("missing argument 'code'"))
        #expect(ps[0].damage[1].contains("unknown kind 'nonsense'"))
        #expect(ps[0].damage[2].contains("expected an integer"))
    }
}
