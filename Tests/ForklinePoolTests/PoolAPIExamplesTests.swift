import ForklineTestSupport
import Testing

/// The runnable examples the README and docs/pool.md quote (Tools/examples/PoolAPIExamples.swift).
@Suite("forkline-examples pool-callbacks and barrier-action")
struct PoolAPIExamplesTests {
    @Test("pool-callbacks: the callback runs, starmap takes 4-tuples, a throwing task prints its remote backtrace",
          arguments: ["fork", "spawn", "forkserver"])
    func poolCallbacks(method: String) throws {
        let out = try TestSupport.run(TestSupport.executable("forkline-examples"), ["pool-callbacks", "--method", method], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.lines
        #expect(Array(lines.prefix(2)) == ["parsed 42", "[\"6.0 m3\", \"8.0 cm3\"]"], "\(lines)")
        #expect(lines.count > 2 && lines[2].contains("threw forkline_examples.NotANumber") && lines[2].contains("not a number: forty-two"), "\(lines)")
        #expect(lines.contains { $0.contains("remote backtrace (worker pid") })
        #expect(lines.contains { $0.contains("#0 ") && $0.contains("forkline_examples") }, "the throwing closure is named: \(lines)")
    }

    @Test("barrier-action: three processes, two rounds, the action printed once a round")
    func barrierAction() throws {
        let out = try TestSupport.run(TestSupport.executable("forkline-examples"), ["barrier-action"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["all three arrived", "all three arrived"])
    }
}
