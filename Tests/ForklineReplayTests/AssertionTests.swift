import ForklineReplay
import ForklineTrace
import Testing

@Suite("Ordering assertions with timeline excerpts")
struct AssertionTests {
    static func load(_ file: String) throws -> Trace { try Trace.load(path: GoldenFixtureTests.root.path + "/" + file) }

    @Test("the recv of a message happens after its send; siblings' ends are concurrent")
    func holds() throws {
        let trace = try Self.load("valid/messages-in-order.jsonl")
        let send = trace.events(.send)[0], recv = trace.events(.recv)[0]
        try trace.expect(send, happensBefore: recv)
        let four = try Self.load("valid/four-fork-children.jsonl")
        let p1 = try #require(four.process(named: "Process-1")), p2 = try #require(four.process(named: "Process-2"))
        try four.expect(try #require(p1.end), concurrentWith: try #require(p2.end))
        try Self.load("valid/lock-handoffs.jsonl").expectExclusive()
        try Self.load("valid/lock-handoffs.jsonl").expectExclusive(lock: 0x10C)
    }

    @Test("a failed ordering names both events and shows the timeline around them")
    func failsWithExcerpt() throws {
        let trace = try Self.load("valid/messages-in-order.jsonl")
        let send = trace.events(.send)[0], recv = trace.events(.recv)[0]
        #expect {
            try trace.expect(recv, happensBefore: send)
        } throws: { error in
            let text = "\(error)"
            return text.contains("expected recv #1 (pid 401) to happen before send #2 (pid 400), but it is the other way round")
                && text.contains("[1] recv(channel=0xc4") && text.contains("[2] send(channel=0xc4")
                && text.contains("400 main [root]") && text.contains("401 Process-1 [fork]") && text.contains("|")
        }
    }

    @Test("child 1 is joined before child 2 starts only when the parent joins first")
    func joinedBeforeStart() throws {
        // four-fork-children forks all four, then joins: Process-1 is not joined before Process-2 starts.
        let four = try Self.load("valid/four-fork-children.jsonl")
        let p1 = try #require(four.process(named: "Process-1")), p2 = try #require(four.process(named: "Process-2"))
        #expect(throws: TraceAssertionError.self) { try four.expect(joined: p1, beforeStartOf: p2) }
        // crash-and-kill-joined joins the crasher, then forks the next child.
        let seq = try Self.load("valid/crash-and-kill-joined.jsonl")
        try seq.expect(joined: try #require(seq.process(named: "crasher")), beforeStartOf: try #require(seq.process(named: "killed")))
    }

    @Test("two holders of one lock at once fail expectExclusive with both acquires")
    func overlapping() throws {
        let trace = try Self.load("invalid/overlapping-holds.jsonl")
        #expect {
            try trace.expectExclusive(lock: 0x10C)
        } throws: { error in
            guard let e = error as? TraceAssertionError else { return false }
            return e.message.contains("generation 1 was acquired by 2 processes at once") && e.events.count == 2
                && e.excerpt.contains("L")
        }
        #expect(throws: TraceAssertionError.self) { try trace.expectExclusive(lock: 0x999) }
    }
}
