import ForklineReplay
import ForklineTrace
import Testing

@Suite("Pool statistics")
struct PoolStatsTests {
    @Test("a map with a crash and a retry: counts, outcomes, replacements, per-worker tasks and busy time")
    func fixtureStats() throws {
        let fixture = GoldenFixtures.poolFixtures().first { $0.name == "pool-map-crash-retry" }!
        let stats = fixture.trace.poolStats()
        #expect(stats.count == 1)
        let s = try #require(stats.first)
        #expect(s.pool == hex16(GoldenFixtures.pool))
        #expect(s.pid == 1000)
        #expect(s.submitted == 3 && s.delivered == 3)
        #expect(s.outcomes == ["value": 2, "workerDied": 1])
        #expect(s.replaced == ["died": 1])
        #expect(s.latency.count == 3 && s.latency.p50 > 0 && s.latency.max >= s.latency.p90)
        #expect(s.runTime.count == 2)  // task 2 never ended
        #expect(s.workers.map(\.tasks) == [1, 1, 1])
        #expect(s.workers.allSatisfy { $0.utilisation >= 0 && $0.utilisation <= 1 })
        #expect(s.workers.filter { $0.busyNs > 0 }.count == 2)
        let text = fixture.trace.poolStatsText()
        #expect(text.contains("3 tasks submitted, 3 delivered"))
        #expect(text.contains("workers replaced: died 1"))
    }

    @Test("a trace without pools has no pool statistics")
    func noPools() {
        let fixture = GoldenFixtures.all().first { $0.name == "four-fork-children" }!
        #expect(fixture.trace.poolStats().isEmpty)
        #expect(fixture.trace.poolStatsText().isEmpty)
    }
}
