import ForklineReplay
import ForklineTrace
import Testing

/// Issue 13 item 4: every ordering across processes is decided on the causal graph alone, so one
/// process's clock off by seconds (another host, a skewed VM) changes no verdict and no assertion,
/// and a causal order broken while every clock reads in order is still caught.
@Suite("Clocks are compared only within a process")
struct ClockIndependenceTests {
    /// What a test compares of a report: each violation's rule, message and events (by id), in
    /// order, then the notes.
    static func summary(_ r: CheckReport) -> [String] {
        r.violations.map { "\($0.rule.rawValue): \($0.message) \($0.events.map(\.id))" } + r.notes
    }

    /// Every way to put one process's clock 10 s off: later, or earlier (every other one later).
    static func skewed(_ t: Trace) -> [(String, Trace)] {
        t.processes.flatMap { p -> [(String, Trace)] in
            var early = t
            for q in t.processes where q.header.puid != p.header.puid {
                early = MessageScenes.shifted(early, puid: q.header.puid, by: MessageScenes.tenSeconds)
            }
            return [("\(p.name) +10 s", MessageScenes.shifted(t, puid: p.header.puid, by: MessageScenes.tenSeconds)),
                    ("\(p.name) -10 s", early)]
        }
    }

    /// The golden fixtures, but `time-goes-backwards` (its violation is a clock within one process,
    /// and its message quotes the times).
    static let fixtureNames = GoldenFixtures.all().map(\.name).filter { $0 != "time-goes-backwards" }

    @Test("every golden fixture gets the same report with any one process's clock 10 s off", arguments: fixtureNames)
    func fixture(name: String) throws {
        let t = try #require(GoldenFixtures.all().first { $0.name == name }).trace
        let expected = Self.summary(check(t))
        for (how, skewed) in Self.skewed(t) {
            #expect(Self.summary(check(skewed)) == expected, "\(name), \(how)")
        }
    }

    @Test("a barrier pass that an arrival depends on is barrier-early-release, whatever the clocks")
    func barrierCausal() throws {
        let t = try #require(GoldenFixtures.all().first { $0.name == "barrier-early-release" }).trace
        for (how, skewed) in [("as recorded", t)] + Self.skewed(t) {
            let r = check(skewed)
            #expect(r.violations.map(\.rule) == [.barrierEarlyRelease], "\(how): \(r.violations)")
            #expect(r.violations.first?.message.contains("barrier 0000000000000ba7 round 0: process main (pid 400) passed before process Process-1 (pid 401) arrived") == true,
                    "\(how): \(r.violations)")
        }
    }

    @Test("operations sharing a semaphore ticket replay in causal order, not clock order")
    func semaphoreTie() throws {
        let t = try #require(GoldenFixtures.all().first { $0.name == "semaphore-shared-ticket" }).trace
        for (how, skewed) in [("as recorded", t)] + Self.skewed(t) {
            let r = check(skewed)
            let shared = r.violations.first { $0.message.contains("two operations with ticket 2") }
            // main's release happens before the child's acquire (a message between them): it is
            // replayed first, so the acquire is the one reported as the second operation.
            #expect(shared?.events.map(\.kind) == [.semRelease, .semAcquire], "\(how): \(r.violations)")
        }
    }

    @Test("expectExclusive passes lock hand-offs with one process's clock 10 s off")
    func exclusiveSkewed() throws {
        let t = try #require(GoldenFixtures.all().first { $0.name == "lock-handoffs" }).trace
        for (how, skewed) in Self.skewed(t) {
            #expect(throws: Never.self, "\(how)") { try skewed.expectExclusive(lock: 0x10C) }
        }
    }

    @Test("expectExclusive fails an acquire that the previous release depends on, though every clock reads in order")
    func exclusiveCausal() throws {
        // main holds generation 1; the child acquires generation 2 and tells main, which releases
        // generation 1 only after hearing: the child acquired before main released. The child's
        // clock runs 10 s ahead, so by the clocks the release comes first.
        var b = FixtureBuilder()
        let r = b.process(pid: 400, puid: 0x400)
        b.start(r, parent: nil, method: .root, name: "main")
        let c = b.fork(r, pid: 401, puid: 0x401, name: "Process-1")
        b.event(r, .lockAcquire, [.uint(0x10C), .uint(1), .uint(0)])
        b.event(c, .lockAcquire, [.uint(0x10C), .uint(2), .uint(0)])
        let m = b.event(c, .send, [.uint(0xC4), .uint(8)])
        b.event(r, .recv, [.uint(0xC4), .uint(0x401), .uint(m), .uint(8)])
        b.event(r, .lockRelease, [.uint(0x10C), .uint(1)])
        b.event(c, .lockRelease, [.uint(0x10C), .uint(2)])
        b.exit(c, 0); b.join(r, c, .exited(0)); b.exit(r, 0)
        let t = MessageScenes.shifted(b.trace, puid: 0x401, by: MessageScenes.tenSeconds)
        let acquire = try #require(t.process(pid: 401)?.events.first { $0.kind == .lockAcquire })
        let release = try #require(t.process(pid: 400)?.events.first { $0.kind == .lockRelease })
        #expect(release.time < acquire.time, "the clocks read in order")
        #expect {
            try t.expectExclusive(lock: 0x10C)
        } throws: { error in
            "\(error)".contains("generation 2 was acquired before generation 1 was released")
        }
        let report = check(t)
        #expect(report.violations.map(\.rule) == [.overlappingHolds], "\(report.violations)")
    }

    @Test("of two concurrent sets of one event generation neither is ordered before the wait, whatever the clocks")
    func eventSetConcurrent() throws {
        let t = try #require(GoldenFixtures.all().first { $0.name == "event-set-twice" }).trace
        for (how, skewed) in [("as recorded", t)] + Self.skewed(t) {
            let sets = skewed.events(.eventSet), wait = try #require(skewed.events(.eventWait).first)
            #expect(sets.count == 2)
            for s in sets { #expect(!skewed.happensBefore(s.id, wait.id), "\(how): set in pid \(s.pid)") }
            #expect(check(skewed).ok, "\(how): \(check(skewed).violations)")
        }
    }
}
