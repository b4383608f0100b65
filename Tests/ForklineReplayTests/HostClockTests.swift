import Foundation
import ForklineReplay
import ForklineTrace
import ForklineTestSupport
import Testing

/// Issue 17: the views (show, html, the Perfetto export, stats) put every host on one clock,
/// aligned from the trace's cross-host causal links, so an offset of seconds between hosts
/// neither squeezes the view nor draws a message received before it was sent. The checker does
/// not use the alignment.
@Suite("Aligning hosts' clocks for the views")
struct HostClockTests {
    static let s: Int64 = 1_000_000_000
    /// beta's clock 3 s behind the driver's, gamma's 7 s ahead.
    static let workers: [(String, Int64)] = [("beta", -3 * s), ("gamma", 7 * s)]
    /// Half the round trip of each link: the most a midpoint can be off from the true offset.
    static let slack = Int64(HostClockScenes.outbound + HostClockScenes.inbound) / 2

    @Test("each host's offset onto the driver's clock is the true shift within its links' slack")
    func offsetsWithinSlack() throws {
        let trace = HostClockScenes.run(workers: Self.workers)
        // The shifts are real in the input: some message is stamped as received before it was sent.
        #expect(trace.flows.contains { $0.to.time < $0.from.time })
        let clocks = HostClocks(trace)
        #expect(clocks.conflict == nil)
        #expect(clocks.reference == HostID.of(name: "alpha"))
        for (name, shift) in Self.workers {
            let h = try #require(clocks.hosts.first { $0.host == HostID.of(name: name) })
            // Adding the offset to this host's times puts them on alpha's clock: minus its shift.
            let truth = -shift
            #expect(abs(h.offset - truth) <= Self.slack, "\(name): \(h.offset) vs \(truth)")
            let lo = try #require(h.lowest), hi = try #require(h.highest)
            #expect(lo <= truth && truth <= hi, "\(name): [\(lo), \(hi)] holds \(truth)")
            #expect(h.slack == UInt64(Self.slack), "\(name)")
            #expect(h.links == 2)
            #expect(h.basis == .bounded)
        }
        #expect(clocks.offset(of: HostID.of(name: "alpha")) == 0)
    }

    @Test("replay status puts hosts on one clock too: a live driver's last event is at its true time, not a far host's shift away")
    func statusAligned() throws {
        // beta's clock is 3 s behind: its worker's start is the trace's earliest time, so on
        // each host's own clock the driver's last event reads ~3 s into the run.
        let whole = HostClockScenes.run(workers: [("beta", -3_000_000_000)])
        var processes = whole.processes
        let d = try #require(processes.firstIndex { $0.name == "main" })
        processes[d].events.removeLast()  // the driver still runs: its exit not yet written
        let trace = Trace(processes: processes, hostNames: Dictionary(uniqueKeysWithValues: whole.hosts.map { ($0, whole.hostLabel($0)) }))
        func lastEventAt(_ text: String) throws -> String {
            let line = try #require(text.split(separator: "\n").first { $0.contains("main") && $0.contains("running") }, "\(text)")
            return String(line[line.range(of: " at ")!.upperBound...].dropLast())
        }
        let aligned = trace.statusText()
        let own = trace.statusText(alignClocks: false)
        // Before, status read each host's own clock: the driver's close at ~3.008 s.
        #expect(try lastEventAt(own).hasPrefix("+3.00"), "\(own)")
        #expect(try lastEventAt(aligned).hasPrefix("+0.00"), "\(aligned)")
        #expect(aligned.split(separator: "\n").last?.hasPrefix("clocks: hosts put on alpha's clock") == true, "\(aligned)")
        #expect(!own.contains("clocks:"))
    }

    @Test("after alignment every cross-host flow in the Chrome export starts no later than it ends")
    func chromeFlowsRunForward() throws {
        let trace = HostClockScenes.run(workers: Self.workers)
        let flows = try HostClockScenes.chromeFlows(ChromeTrace.export(trace))
        #expect(flows.count == 4)
        for f in flows { #expect(f.start <= f.end, "\(f.name): \(f.start) -> \(f.end)") }
        // The export says what it applied.
        let json = try JSONSerialization.jsonObject(with: Data(ChromeTrace.export(trace).utf8)) as? [String: Any]
        let other = try #require(json?["otherData"] as? [String: Any])
        let clocks = try #require(other["host_clocks"] as? [String: Any], "\(other)")
        #expect(clocks["reference"] as? String == "alpha")
        let offsets = try #require(clocks["offsets_ns"] as? [String: Any])
        let beta = try #require(offsets["beta"] as? Int)
        #expect(abs(Int64(beta) - 3 * Self.s) <= Self.slack)
        // Each host's own clock on request: the flows run backwards again.
        let own = try HostClockScenes.chromeFlows(ChromeTrace.export(trace, alignClocks: false))
        #expect(own.contains { $0.start > $0.end })
    }

    @Test("in Perfetto's UI every cross-host flow of the aligned export arrives; on each host's own clock the backward ones are dropped")
    func perfettoKeepsEveryFlow() throws {
        let trace = HostClockScenes.run(workers: Self.workers)
        let aligned = try PerfettoViewerTests.query(ChromeTrace.export(trace), in: Scratch.directory())
        #expect(PerfettoViewerTests.count(aligned, "flows") == 4, "\(aligned)")
        #expect((aligned["problems"] as? [Any])?.isEmpty == true, "\(aligned)")
        let own = try PerfettoViewerTests.query(ChromeTrace.export(trace, alignClocks: false), in: Scratch.directory())
        #expect(PerfettoViewerTests.count(own, "flows") == 2, "\(own)")
        let problems = (own["problems"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(problems.contains("flow_end_without_start"), "\(own)")
    }

    @Test("show draws each cross-host message's receive at or after its send, and says which offsets it applied")
    func showFollowsCausality() throws {
        let trace = HostClockScenes.run(workers: Self.workers)
        let dir = Scratch.directory()
        try HostClockScenes.write(trace, into: dir)
        let out = try TestSupport.run(Executables.replay, ["show", "--width", "120", dir])
        #expect(out.status == 0, "\(out.stderr)")
        let alpha = try #require(HostClockScenes.lane(out.stdout, host: "alpha"), "\(out.stdout)")
        let beta = try #require(HostClockScenes.lane(out.stdout, host: "beta"), "\(out.stdout)")
        let gamma = try #require(HostClockScenes.lane(out.stdout, host: "gamma"), "\(out.stdout)")
        func first(_ c: Character, _ l: [Character]) -> Int { l.firstIndex(of: c) ?? -1 }
        func last(_ c: Character, _ l: [Character]) -> Int { l.lastIndex(of: c) ?? -1 }
        // alpha sends to beta, beta answers; then the same with gamma.
        #expect(first(">", alpha) >= 0 && first(">", alpha) <= first("<", beta), "\n\(out.stdout)")
        #expect(first(">", beta) >= 0 && first(">", beta) <= first("<", alpha), "\n\(out.stdout)")
        #expect(last(">", alpha) >= 0 && last(">", alpha) <= first("<", gamma), "\n\(out.stdout)")
        #expect(first(">", gamma) >= 0 && first(">", gamma) <= last("<", alpha), "\n\(out.stdout)")
        // The two hosts' exchanges are 6 ms apart on a ~15 ms run: not squeezed into one column.
        #expect(last("<", alpha) - first(">", alpha) > 40, "\n\(out.stdout)")
        let line = try #require(HostClockScenes.clocksBlock(out.stdout), "\(out.stdout)")
        #expect(line.contains("alpha") && line.contains("beta +3") && line.contains("gamma -7"), "\(line)")
        // Every line still fits the width.
        #expect(out.lines.allSatisfy { $0.count <= 120 }, "\(out.lines.filter { $0.count > 120 })")
        // --own-clocks: each host on its own clock, as recorded.
        let own = try TestSupport.run(Executables.replay, ["show", "--width", "120", "--own-clocks", dir])
        #expect(HostClockScenes.clocksBlock(own.stdout)?.contains("own clock") == true, "\(own.stdout)")
        // There the 10 s between beta's and gamma's clocks squeezes the whole run into a few columns.
        let ownAlpha = try #require(HostClockScenes.lane(own.stdout, host: "alpha"), "\(own.stdout)")
        #expect(ownAlpha.filter { $0 != " " }.count < 5, "\n\(own.stdout)")
    }

    @Test("html and stats say which offsets they applied and use them")
    func htmlAndStats() throws {
        let trace = HostClockScenes.run(workers: Self.workers)
        let html = HTMLPage.render(trace)
        #expect(html.contains("id=\"clocks\""))
        #expect(html.contains("beta +3"))
        // The page's data: a span of the run (~15 ms), not the 10 s between the hosts' clocks.
        let span = try #require(html.firstRange(of: "\"span\":").map { html[$0.upperBound...].prefix { $0.isNumber } })
        #expect(UInt64(span)! < 100 * HostClockScenes.ms, "span \(span)")
        // Chromium draws it: the note shows, every lane and arrow is drawn, no script error.
        let dir = Scratch.directory()
        try html.write(toFile: dir + "/t.html", atomically: true, encoding: .utf8)
        let dom = try HTMLPageTests.browse(dir + "/t.html", ["--dump-dom"], in: dir)
        #expect(!dom.contains("<div id=\"forkline-error\""), "\(dom.suffix(500))")
        let ready = try #require(dom.range(of: "<div id=\"forkline-ready\"[^>]*>", options: .regularExpression).map { String(dom[$0]) })
        #expect(ready.contains("data-lanes=\"3\"") && ready.contains("data-flows=\"4\""), "\(ready)")
        #expect(dom.contains("<section id=\"clocks\">Clocks: hosts put on alpha's clock"))
        let text = trace.statsText()
        #expect(text.contains("clocks:"), "\(text)")
        // Message latencies are the one-way delays, not seconds.
        let json = try JSONSerialization.jsonObject(with: Data(trace.statsJSON().utf8)) as? [String: Any]
        let flows = try #require(json?["flows"] as? [String: Any])
        let message = try #require(flows["message"] as? [String: Any])
        #expect((message["max"] as? Int ?? .max) < 1_000_000, "\(message)")
        #expect(json?["host_clocks"] != nil)
    }

    @Test("a host with no causal link keeps its own clock, and the views say so")
    func unlinkedHost() throws {
        let trace = HostClockScenes.run(workers: Self.workers, unlinked: ["delta"])
        let clocks = HostClocks(trace)
        let delta = try #require(clocks.hosts.first { $0.host == HostID.of(name: "delta") })
        #expect(delta.offset == 0)
        #expect(delta.basis == .unlinked)
        #expect(delta.links == 0)
        #expect(clocks.conflict == nil)
        let show = Timeline(width: 200).render(trace)
        let line = try #require(HostClockScenes.clocksBlock(show), "\(show)")
        #expect(line.contains("delta: no causal link"), "\(line)")
        // The linked hosts are still aligned.
        for f in try HostClockScenes.chromeFlows(ChromeTrace.export(trace)) { #expect(f.start <= f.end) }
        // Loaded in another order (the loner's host first), the reference is still the host with
        // the most links, and the offsets are the same.
        let reversed = HostClocks(Trace(processes: trace.processes.reversed(), hostNames: trace.hostNames))
        #expect(reversed.referenceName == "alpha", "\(reversed.summary)")
        for h in clocks.hosts { #expect(reversed.offset(of: h.host) == h.offset, "\(h.name)") }
    }

    @Test("one link gives a one-sided bound: the least shift that puts the effect after its cause")
    func oneSidedBound() throws {
        // Only beta's receive of alpha's send (no answer): beta must move forward by at least
        // 3 s - 50 us; nothing bounds it from above.
        let full = HostClockScenes.run(workers: [("beta", -3 * Self.s)])
        var ps = full.processes
        ps[0].events = ps[0].events.filter { $0.kind != .recv }
        let trace = Trace(processes: ps, hostNames: full.hostNames)
        let beta = try #require(HostClocks(trace).hosts.first { $0.host == HostID.of(name: "beta") })
        #expect(beta.basis == .lowerBoundOnly)
        #expect(beta.offset == 3 * Self.s - Int64(HostClockScenes.outbound))
        #expect(beta.highest == nil)
        // A bound that needs no shift at all gives none.
        let ahead = HostClockScenes.run(workers: [("beta", 3 * Self.s)])
        var qs = ahead.processes
        qs[0].events = qs[0].events.filter { $0.kind != .recv }
        let b2 = try #require(HostClocks(Trace(processes: qs, hostNames: ahead.hostNames)).hosts.first { $0.host == HostID.of(name: "beta") })
        #expect(b2.basis == .lowerBoundOnly)
        #expect(b2.offset == 0)
    }

    @Test("links no constant offset can satisfy (a clock that stepped mid-run) are reported, and the views fall back to the links' midpoints")
    func contradictoryLinks() throws {
        // beta's clock jumps 10 ms ahead between its two round trips: the first needs beta moved
        // by >= 3 s - 50 us, the second allows at most 3 s - 10 ms + 20 us.
        let trace = HostClockScenes.run(workers: [("beta", -3 * Self.s)], stepAfterReply: ["beta": 10_000_000])
        let clocks = HostClocks(trace)
        let conflict = try #require(clocks.conflict)
        #expect(conflict.contains("beta") && conflict.contains("alpha"), "\(conflict)")
        let beta = try #require(clocks.hosts.first { $0.host == HostID.of(name: "beta") })
        #expect(beta.basis == .contradicted)
        // The midpoint of the contradictory bounds: between them.
        let lower = 3 * Self.s - Int64(HostClockScenes.outbound), upper = 3 * Self.s - 10_000_000 + Int64(HostClockScenes.inbound)
        #expect(beta.offset == upper + (lower - upper) / 2, "\(beta.offset)")
        let show = Timeline(width: 160).render(trace)
        #expect(show.contains("contradict"), "\(show)")
        #expect(ChromeTrace.export(trace).contains("\"conflict\":"))
        // The checker does not look at clocks: the same verdict either way.
        #expect(trace.check().violations.map(\.message) == [])
    }

    @Test("past the exact solution's host limit, a driver with a worker on each of 300 hosts still aligns every host within its slack")
    func manyHosts() throws {
        let workers = (1...300).map { ("node\($0)", Int64($0 % 7) * Self.s - 3 * Self.s) }
        #expect(workers.count > HostClocks.exactHostLimit)
        let trace = HostClockScenes.run(workers: workers)
        let clocks = HostClocks(trace)
        #expect(clocks.conflict == nil)
        for (name, shift) in workers {
            #expect(abs(clocks.offset(of: HostID.of(name: name)) + shift) <= Self.slack, "\(name)")
        }
    }

    @Test("one host: nothing is aligned and nothing is said")
    func oneHostUnchanged() throws {
        let t = try #require(GoldenFixtures.all().first { $0.name == "four-fork-children" }).trace
        let clocks = HostClocks(t)
        #expect(clocks.hosts.allSatisfy { $0.offset == 0 })
        #expect(!Timeline().render(t).contains("clocks:"))
        #expect(!ChromeTrace.export(t).contains("host_clocks"))
        #expect(ChromeTrace.export(t) == ChromeTrace.export(t, alignClocks: false))
    }
}
