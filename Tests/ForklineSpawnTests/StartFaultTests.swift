import ForklineTestSupport
import Testing

/// What a fork child does beyond a bare fork costs mostly page faults: each page it writes is a
/// copy-on-write copy and each first read of a library's text or symbol table a fault, ~5 us each
/// on this VM (forkline-bench --start --faults: 123 faults a child were 0.74-0.84 ms a start+join,
/// 41 were 0.35-0.38 ms, the bare fork's 10 were 0.22 ms). Counted, not timed.
@Suite("The cost of starting a fork child")
struct StartFaultTests {
    @Test("an untraced fork child binds no symbol, builds no trace event and no exit-path list: few faults more than a bare fork")
    func forkChildFaults() throws {
        // Untraced: the common case, and the one whose exit built the trace's event table.
        let (out, _) = try TestSupport.runFixture(["start-faults", "fork", "50"], traced: false)
        #expect(out.status == 0, "\(out.stderr)")
        let line = try #require(out.lines.last)
        let fields = Dictionary(uniqueKeysWithValues: line.split(separator: " ").compactMap { f -> (String, Double)? in
            let kv = f.split(separator: "=")
            guard kv.count == 2, let v = Double(kv[1]) else { return nil }
            return (String(kv[0]), v)
        })
        let ours = try #require(fields["forkline"]), bare = try #require(fields["bare"])
        #expect(ours - bare < 120, "a Forkline fork child took \(ours) minor faults, a bare fork \(bare)")
    }
}
