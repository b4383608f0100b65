import Foundation
import ForklineReplay
import ForklineTrace
import ForklineTestSupport
import Testing

/// Traces of several hosts (issue 17 item 3): a directory per host, merged by `replay` and
/// ordered by causal references alone, so a host whose clock is seconds off still checks.
@Suite("Merging the traces of several hosts")
struct HostMergeTests {
    static let channel: UInt64 = 0x17C
    static let driverPuid: UInt64 = 0xA000_0000_0000_0001, workerPuid: UInt64 = 0xB000_0000_0000_0002

    /// The driver (host `alpha`) sends two messages over a TCP connection to a worker on host
    /// `beta`, which receives both and answers once. The worker's clock is `offset` ns behind
    /// the driver's, so each of its receives is stamped before the send it names.
    static func scene(offset: UInt64, answerSeq: UInt64? = nil) -> (driver: ProcessTrace, worker: ProcessTrace) {
        var d = FixtureBuilder(), w = FixtureBuilder()
        d.clock = 100_000_000_000
        w.clock = 100_000_000_000 - offset
        let dp = d.process(pid: 10, puid: driverPuid)
        d.start(dp, parent: nil, method: .root, name: "main")
        d.event(dp, .channelOpen, [.uint(channel), .uint(2)])
        let wp = w.process(pid: 10, puid: workerPuid)  // the same pid, on another host
        w.start(wp, parent: nil, method: .root, name: "worker")
        w.event(wp, .channelOpen, [.uint(channel), .uint(2)])
        let s1 = d.event(dp, .send, [.uint(channel), .uint(8)])
        let s2 = d.event(dp, .send, [.uint(channel), .uint(8)])
        w.clock += 3_000
        w.event(wp, .recv, [.uint(channel), .uint(driverPuid), .uint(s1), .uint(8)])
        w.event(wp, .recv, [.uint(channel), .uint(driverPuid), .uint(s2), .uint(8)])
        let a = w.event(wp, .send, [.uint(channel), .uint(16)])
        d.clock += 10_000
        d.event(dp, .recv, [.uint(channel), .uint(workerPuid), .uint(answerSeq ?? a), .uint(16)])
        d.event(dp, .channelClose, [.uint(channel)])
        w.event(wp, .channelClose, [.uint(channel)])
        d.exit(dp, 0)
        w.exit(wp, 0)
        return (d.processes[0], w.processes[0])
    }

    /// Writes each host's processes as JSON Lines into `dir/<host>/trace.jsonl`.
    static func writeHosts(_ hosts: [(String, [ProcessTrace])], into dir: String) throws {
        for (host, ps) in hosts {
            try FileManager.default.createDirectory(atPath: dir + "/" + host, withIntermediateDirectories: true)
            try Data(JSONLines.export(Trace(processes: ps)).utf8).write(to: URL(fileURLWithPath: "\(dir)/\(host)/trace.jsonl"))
        }
    }

    @Test("a directory holding a subdirectory per host loads as one trace, lanes named by host")
    func subdirectoryPerHost() throws {
        let (d, w) = Self.scene(offset: 0)
        let dir = Scratch.directory()
        try Self.writeHosts([("alpha", [d]), ("beta", [w])], into: dir)
        let trace = try Trace.load(paths: [dir])
        #expect(trace.processes.count == 2)
        #expect(trace.isMultiHost)
        #expect(trace.hosts.map(trace.hostLabel) == ["alpha", "beta"])
        #expect(trace.check().violations.map(\.message) == [])
        // The same, given as two directories.
        let two = try Trace.load(paths: [dir + "/alpha", dir + "/beta"])
        #expect(two.hosts.map(two.hostLabel) == ["alpha", "beta"])
    }

    @Test("a host whose clock is seconds behind still checks OK: order comes from causal references",
          arguments: [UInt64(5_000_000_000), 60_000_000_000])
    func clockOffsetTolerated(offset: UInt64) throws {
        let (d, w) = Self.scene(offset: offset)
        // The offset is real in the input: the worker's receives are stamped before their sends.
        #expect(w.events.first { $0.kind == .recv }!.time < d.events.first { $0.kind == .send }!.time)
        let dir = Scratch.directory()
        try Self.writeHosts([("alpha", [d]), ("beta", [w])], into: dir)
        let trace = try Trace.load(paths: [dir])
        let report = trace.check()
        #expect(report.violations.map(\.message) == [])
        let send = d.events.first { $0.kind == .send }!, recv = w.events.first { $0.kind == .recv }!
        #expect(trace.happensBefore(send.id, recv.id))
        let out = try TestSupport.run(Executables.replay, ["check", dir])
        #expect(out.status == 0, "\(out.stdout)\(out.stderr)")
    }

    @Test("a receive naming a send its peer host never made is still reported across hosts")
    func crossHostViolationCaught() throws {
        let (d, w) = Self.scene(offset: 5_000_000_000, answerSeq: 99)
        let dir = Scratch.directory()
        try Self.writeHosts([("alpha", [d]), ("beta", [w])], into: dir)
        let out = try TestSupport.run(Executables.replay, ["check", dir])
        #expect(out.status == 1, "\(out.stdout)\(out.stderr)")
    }

    @Test("show, html and the Perfetto export group lanes by host")
    func lanesGroupedByHost() throws {
        let (d, w) = Self.scene(offset: 5_000_000_000)
        var d2 = d
        d2.header.puid = 0xA000_0000_0000_0003
        d2.events = d2.events.map { var e = $0; e.puid = d2.header.puid; return e }
        let dir = Scratch.directory()
        // alpha's two processes sit in two files with beta's between them in name order.
        try Self.writeHosts([("alpha", [d]), ("beta", [w])], into: dir)
        try Data(JSONLines.export(Trace(processes: [d2])).utf8).write(to: URL(fileURLWithPath: "\(dir)/alpha/z.jsonl"))
        let trace = try Trace.load(paths: [dir + "/beta", dir + "/alpha"])
        let show = try TestSupport.run(Executables.replay, ["show", dir + "/beta", dir + "/alpha"])
        let lines = show.stdout.split(separator: "\n").map(String.init)
        let beta = try #require(lines.firstIndex(of: "host beta:")), alpha = try #require(lines.firstIndex(of: "host alpha:"))
        #expect(beta < alpha)
        // Both of alpha's lanes come after its heading, beta's one lane before it.
        #expect(lines[(alpha + 1)...].filter { $0.hasPrefix("10 main") }.count == 2)
        let chrome = ChromeTrace.export(trace)
        #expect(chrome.contains("\"labels\":\"host alpha\""))
        #expect(chrome.contains("\"name\":\"beta: worker [root]\"") || chrome.contains("beta: worker"))
        let html = HTMLPage.render(trace)
        #expect(html.contains("alpha: 10 main"))
        #expect(html.contains("beta: 10 worker"))
    }

    @Test("the same trace given twice is a load problem, not a doubled process")
    func duplicatePuidsRefused() throws {
        let (d, w) = Self.scene(offset: 0)
        let dir = Scratch.directory()
        try Self.writeHosts([("alpha", [d]), ("beta", [w])], into: dir)
        let trace = try Trace.load(paths: [dir + "/alpha", dir + "/beta", dir + "/alpha"])
        #expect(trace.processes.count == 2)
        #expect(trace.unreadable.contains { $0.contains("already loaded") })
    }

    @Test("one directory of a host-less trace loads as before: one host, no grouping")
    func singleDirectoryUnchanged() throws {
        let (d, _) = Self.scene(offset: 0)
        let dir = Scratch.directory()
        try Data(JSONLines.export(Trace(processes: [d])).utf8).write(to: URL(fileURLWithPath: "\(dir)/t.jsonl"))
        let trace = try Trace.load(paths: [dir])
        #expect(trace.hosts == [0])
        #expect(!trace.isMultiHost)
        #expect(!JSONLines.export(trace).contains("\"host\""))
    }
}
