import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// The queue ring's per-producer order guarantee (docs/channels.md): each producer's items are
/// taken in its put order, so every consumer receives any one producer's items in that order,
/// whatever the other producers and consumers do. The trace is the oracle.
@Suite("Queue: per-producer order")
struct QueueProducerOrderTests {
    @Test("3 producers x 3 consumers: each consumer gets each producer's items in put order, and check enforces it on the real trace")
    func perProducerOrder() throws {
        let (out, dir) = try TestSupport.runFixture(["queue-many", "fork", "1500"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let producers = Set(trace.processes.filter { $0.name.hasPrefix("producer") }.map(\.header.puid))
        #expect(producers.count == 3)
        var interleaved = 0
        for consumer in trace.processes where consumer.name.hasPrefix("consumer") {
            let recvs = consumer.events.filter { $0.kind == .recv && producers.contains($0["senderPuid"]?.uint ?? 0) }
            var last: [UInt64: UInt64] = [:]
            for r in recvs {
                let (p, seq) = (r["senderPuid"]!.uint!, r["sendSeq"]!.uint!)
                #expect(seq > last[p, default: 0], "\(consumer.name) got #\(seq) of \(hex16(p)) after #\(last[p, default: 0])")
                last[p] = seq
            }
            interleaved += zip(recvs, recvs.dropFirst()).filter { $0["senderPuid"] != $1["senderPuid"] }.count
        }
        // The scene does exercise several producers per consumer.
        #expect(interleaved > 0)
        // The rule is live on this trace: two of one producer's items swapped in one consumer are
        // caught (with three producers on the queue, the one-producer check of old did not apply).
        // A consumer that got two items of one producer (which consumer gets how many is the
        // scheduler's: one that started late got a single item in a CI run, so the first
        // consumer is not always one).
        var ps = trace.processes
        func pair(_ c: Int) -> (Int, Int)? {
            let positions = ps[c].events.indices.filter { ps[c].events[$0].kind == .recv }
            for (i, a) in positions.enumerated() {
                if let b = positions.dropFirst(i + 1).first(where: { ps[c].events[$0]["senderPuid"] == ps[c].events[a]["senderPuid"] }) { return (a, b) }
            }
            return nil
        }
        let c = try #require(ps.indices.first { ps[$0].name.hasPrefix("consumer") && pair($0) != nil })
        let (first, second) = try #require(pair(c))
        (ps[c].events[first].args, ps[c].events[second].args) = (ps[c].events[second].args, ps[c].events[first].args)
        let mutant = Trace(processes: ps).check()
        #expect(mutant.violations.map(\.rule) == [.outOfOrderRecv], "\(mutant.violations)")
    }
}
