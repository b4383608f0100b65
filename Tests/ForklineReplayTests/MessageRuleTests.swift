import ForklineReplay
import ForklineTrace
import Testing

/// The message rule (invariant 4) finds sends through a positional index rather than a
/// dictionary of events keyed by id. These tests hold it to the straightforward reading of the
/// rule, written here with name lookups and dictionaries, on random traces that include the
/// damage the index treats specially: sequence numbers beyond a file's length, two files for one
/// process, sends without a channel, receives naming sends that do not exist.
@Suite("Message rule")
struct MessageRuleTests {
    /// The rules compared; the random traces reach the first three (no process in them ends
    /// cleanly, so none is proven to have lost a message, and every size is 8).
    static let messageRules: Set<Violation.Rule> = [.recvWithoutSend, .duplicateRecv, .outOfOrderRecv, .lostMessage, .sizeMismatch]
    static let reached: Set<Violation.Rule> = [.recvWithoutSend, .duplicateRecv, .outOfOrderRecv]

    @Test("the checker's message violations and notes equal the rule's reference reading on 300 random damaged traces")
    func matchesReference() {
        var seen: Set<Violation.Rule> = []
        var sparseSends = 0, replacedSends = 0, notes = 0
        for seed in 0..<300 {
            var rng = SplitMix(seed: UInt64(seed))
            let trace = Self.randomTrace(&rng)
            let report = check(trace)
            let got = report.violations.filter { Self.messageRules.contains($0.rule) }
            var want: [Violation] = []
            var wantNotes: [String] = []
            Self.reference(trace, &want, &wantNotes)
            #expect(got.map(\.description) == want.map(\.description), "seed \(seed)")
            #expect(got.map(\.eventIDs) == want.map(\.eventIDs), "seed \(seed)")
            let gotNotes = report.notes.filter { $0.hasPrefix("channel ") || $0.hasPrefix("queue ") }
            #expect(gotNotes == wantNotes, "seed \(seed)")
            seen.formUnion(got.map(\.rule))
            notes += gotNotes.count
            for p in trace.processes {
                sparseSends += p.events.filter { $0.kind == .send && $0.seq >= UInt64(p.events.count) }.count
            }
            let ids = trace.events(.send).map(\.id)
            replacedSends += ids.count - Set(ids).count
        }
        // The generator reaches every case the comparison is meant to cover.
        #expect(seen == Self.reached)
        #expect(sparseSends > 0 && replacedSends > 0 && notes > 0)
    }

    @Test("a later send with the same id replaces the earlier one, whether either sequence number is beyond its file's length or not")
    func replacedSends() {
        func header(_ puid: UInt64) -> ProcessHeader { ProcessHeader(pid: Int32(puid), ppid: 0, puid: puid, startTime: 0, realtime: 0) }
        func send(_ seq: UInt64, _ channel: UInt64) -> TraceEvent {
            TraceEvent(kind: .send, pid: 1, puid: 1, seq: seq, time: 10, args: [.uint(channel), .uint(1)])
        }
        func mark(_ seq: UInt64) -> TraceEvent { TraceEvent(kind: .mark, pid: 1, puid: 1, seq: seq, time: 10, args: [.string("m")]) }
        // seq 2 is within the long file (indexed by position) and beyond the short one.
        let long7 = ProcessTrace(header: header(1), events: [mark(0), mark(1), send(2, 7), mark(3)])
        let short7 = ProcessTrace(header: header(1), events: [send(2, 7)])
        let long8 = ProcessTrace(header: header(1), events: [mark(0), mark(1), send(2, 8), mark(3)])
        let short8 = ProcessTrace(header: header(1), events: [send(2, 8)])
        let receiver = ProcessTrace(header: header(2), events: [
            TraceEvent(kind: .recv, pid: 2, puid: 2, seq: 0, time: 20, args: [.uint(8), .uint(1), .uint(2), .uint(1)]),
            TraceEvent(kind: .recv, pid: 2, puid: 2, seq: 1, time: 21, args: [.uint(7), .uint(1), .uint(2), .uint(1)]),
        ])
        for files in [[long7, short8], [short7, long8], [short7, short8], [long7, long8]] {
            let report = check(Trace(processes: files + [receiver]))
            let messages = report.violations.filter { Self.messageRules.contains($0.rule) }
            // The recv on channel 8 matches the replacing send; the one on channel 7 names a
            // send that is no longer a send on that channel; nothing is left unreceived.
            #expect(messages.map(\.rule) == [.recvWithoutSend])
            #expect(messages.first?.eventIDs == [EventID(puid: 2, seq: 1)])
            #expect(!report.notes.contains { $0.hasPrefix("channel ") })
        }
    }

    /// Up to five files (puids 1-4, one sometimes twice) of sends, receives, channel opens and
    /// closes, with damage.
    static func randomTrace(_ rng: inout SplitMix) -> Trace {
        let files = 2 + rng.below(4)
        var sent: [(UInt64, UInt64)] = []
        var processes: [ProcessTrace] = []
        for f in 0..<files {
            let puid = UInt64(f == 4 ? 1 + rng.below(4) : f + 1)
            var events: [TraceEvent] = []
            let n = 1 + rng.below(25)
            for i in 0..<n {
                var seq = UInt64(i)
                if rng.below(12) == 0 { seq = UInt64(n + rng.below(5)) }
                let time = UInt64(100 + rng.below(200))
                let channel = TraceValue.uint(UInt64(1 + rng.below(3)))
                func ev(_ kind: EventKind, _ args: [TraceValue]) -> TraceEvent {
                    TraceEvent(kind: kind, pid: Int32(puid), puid: puid, seq: seq, time: time, args: args)
                }
                switch rng.below(10) {
                case 0...3:
                    events.append(ev(.send, rng.below(15) == 0 ? [] : [channel, .uint(8)]))
                    sent.append((puid, seq))
                case 4...7:
                    var (sender, s) = sent.isEmpty || rng.below(8) == 0 ? (UInt64(1 + rng.below(5)), UInt64(rng.below(30))) : sent[rng.below(sent.count)]
                    if rng.below(10) == 0 { s += 1 }
                    events.append(ev(.recv, rng.below(20) == 0 ? [channel] : [channel, .uint(sender), .uint(s), .uint(8)]))
                case 8:
                    events.append(ev(.channelOpen, [channel, .uint(UInt64(rng.below(4)))]))
                default:
                    events.append(ev(.channelClose, [channel]))
                }
            }
            processes.append(ProcessTrace(header: ProcessHeader(pid: Int32(puid), ppid: 0, puid: puid, startTime: 0, realtime: 0), events: events))
        }
        return Trace(processes: processes)
    }

    /// Invariant 4 as docs/replay.md states it, by name lookups and dictionaries of events.
    static func reference(_ trace: Trace, _ v: inout [Violation], _ notes: inout [String]) {
        func label(_ p: ProcessTrace) -> String { "process \(p.name) (pid \(p.header.pid))" }
        var sends: [EventID: TraceEvent] = [:]
        var closedBy: [UInt64: Int] = [:]
        var queues: Set<UInt64> = []
        var kinds: [UInt64: Set<UInt64>] = [:]
        for e in trace.allEvents {
            switch e.kind {
            case .send:
                sends[e.id] = e
            case .channelClose:
                if let c = e["channel"]?.uint { closedBy[c, default: 0] += 1 }
            case .channelOpen:
                if let c = e["channel"]?.uint, let k = e["kind"]?.uint, k < 8 { kinds[c, default: []].insert(k) }
                if e["kind"]?.uint == 3, let c = e["channel"]?.uint { queues.insert(c) }
            default: break
            }
        }
        func name(_ c: UInt64) -> String {
            let k = kinds[c] ?? []
            return (k.contains(3) ? "queue " : k.contains(2) ? "connection " : k.isEmpty ? "channel " : "pipe ") + hex16(c)
        }
        func sender(_ e: TraceEvent) -> String { label(trace.process(e.puid)!) }
        var received: [EventID: TraceEvent] = [:]
        for p in trace.processes {
            // Per (channel, sender): the last sendSeq received and its recv.
            var lastSeqFrom: [EventID: (UInt64, TraceEvent)] = [:]
            for r in p.events where r.kind == .recv {
                guard let channel = r["channel"]?.uint, let from = r["senderPuid"]?.uint, let seq = r["sendSeq"]?.uint else { continue }
                let id = EventID(puid: from, seq: seq)
                guard let send = sends[id], send["channel"]?.uint == channel else {
                    let why = trace.process(from).map { "which is not a send of \(label($0)) on \(name(channel))" } ?? "whose process is not in the trace"
                    v.append(Violation(.recvWithoutSend, "\(label(p)) received a message on \(name(channel)) naming send \(id), \(why)", [r]))
                    continue
                }
                if let a = send["size"]?.uint, let b = r["size"]?.uint, a != b {
                    v.append(Violation(.sizeMismatch, "size", [send, r]))
                }
                if let first = received[id] {
                    v.append(Violation(.duplicateRecv, "the message of send \(id) by \(sender(send)) on \(name(channel)) was received twice (by \(sender(first)) and \(label(p)))", [send, first, r]))
                } else {
                    received[id] = r
                }
                let stream = EventID(puid: from, seq: channel)
                if let (last, prev) = lastSeqFrom[stream], seq < last {
                    v.append(Violation(.outOfOrderRecv, "\(label(p)) received the messages of \(sender(send)) on \(name(channel)) out of send order (send #\(seq) after #\(last))", [prev, r]))
                }
                lastSeqFrom[stream] = (seq, r)
            }
        }
        var unreceived: [UInt64: Int] = [:]
        for (id, s) in sends where received[id] == nil {
            if let c = s["channel"]?.uint { unreceived[c, default: 0] += 1 }
        }
        for (c, n) in unreceived.sorted(by: { $0.key < $1.key }) {
            if queues.contains(c) {
                notes.append("queue \(hex16(c)): \(n) message(s) never received; left in the queue when the trace ended, or taken by a process that died before recording it")
                continue
            }
            let state = closedBy[c, default: 0] >= 2 ? "closed by both ends" : (closedBy[c, default: 0] == 1 ? "closed by one end" : "still open (lost, or the trace ended first)")
            notes.append("channel \(hex16(c)): \(n) message(s) never received; channel \(state)")
        }
    }
}

/// A small deterministic generator (SplitMix64), so a failing seed can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
