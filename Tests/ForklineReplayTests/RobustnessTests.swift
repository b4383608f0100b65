import Foundation
import ForklineReplay
import ForklineTrace
import Testing

/// A small deterministic generator, so a failing case can be reproduced.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Garbage in, no crash")
struct RobustnessTests {
    /// Loads, checks, draws, counts and exports whatever `dir` holds: none of it may trap.
    static func exercise(_ dir: String) {
        guard let trace = try? Trace.load(path: dir) else { return }
        let report = check(trace)
        _ = report.json()
        _ = report.text()
        _ = Timeline(width: 60).render(trace)
        _ = trace.statsJSON()
        _ = trace.statsText()
        let text = JSONLines.export(trace)
        _ = try? JSONLines.parse(Array(text.utf8), source: "re-read")
        if let a = trace.allEvents.first, let b = trace.allEvents.last { _ = trace.happensBefore(a.id, b.id) }
    }

    @Test("mutated binary files load, check and render without trapping", arguments: 0..<6)
    func mutatedBinary(seed: UInt64) throws {
        var rng = SplitMix64(state: seed)
        let fixtures = GoldenFixtures.all()
        for round in 0..<40 {
            let f = fixtures[Int.random(in: 0..<fixtures.count, using: &rng)]
            let dir = Scratch.directory()
            for p in f.trace.processes {
                var bytes = p.binaryBytes()
                switch round % 4 {
                case 0:  // flip bytes anywhere past the magic
                    for _ in 0..<8 { bytes[Int.random(in: 8..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
                case 1:  // cut anywhere
                    bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &rng)))
                case 2:  // flip bytes in the records only
                    for _ in 0..<4 { bytes[Int.random(in: 64..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
                default:  // random tail
                    bytes += (0..<Int.random(in: 1...200, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                }
                try Scratch.write(bytes, "\(dir)/\(p.header.pid).\(hex16(p.header.puid)).flt")
            }
            Self.exercise(dir)
        }
    }

    @Test("mutated JSON Lines files load, check and render without trapping", arguments: 0..<4)
    func mutatedJSONLines(seed: UInt64) throws {
        var rng = SplitMix64(state: seed &+ 100)
        let fixtures = GoldenFixtures.all()
        let alphabet = Array(#"{}[]",:0123456789-abcdefx"\ "#.utf8)
        for _ in 0..<40 {
            let f = fixtures[Int.random(in: 0..<fixtures.count, using: &rng)]
            var bytes = Array(JSONLines.export(f.trace).utf8)
            for _ in 0..<6 {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = alphabet[Int.random(in: 0..<alphabet.count, using: &rng)]
            }
            let dir = Scratch.directory()
            try Scratch.write(bytes, dir + "/t.jsonl")
            Self.exercise(dir)
        }
    }

    @Test("events out of order, huge values and empty processes are reported, not trapped on")
    func hostileValues() {
        let h = ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: .max, realtime: 0)
        let events = [
            TraceEvent(kind: .exit, pid: 1, puid: 1, seq: 5, time: .max, args: [.int(.max)]),
            TraceEvent(kind: .join, pid: 1, puid: 1, seq: 2, time: 0, args: []),
            TraceEvent(kind: .fork, pid: 1, puid: 1, seq: 2, time: 3, args: [.string("x")]),
            TraceEvent(kind: .start, pid: 1, puid: 1, seq: .max, time: 1, args: [.uint(.max), .int(.min)]),
        ]
        let trace = Trace(processes: [
            ProcessTrace(header: h, events: events),
            ProcessTrace(header: ProcessHeader(pid: 2, ppid: 1, puid: 2, startTime: 0, realtime: 0), events: []),
        ])
        let report = check(trace)
        #expect(!report.ok)
        #expect(report.violations.contains { $0.rule == .order })
        #expect(report.violations.contains { $0.rule == .noStart })
        _ = Timeline(width: 40).render(trace)
        _ = trace.statsText()
        _ = JSONLines.export(trace)
        // Program order is file order, whatever the sequence numbers say.
        #expect(trace.happensBefore(events[0].id, events[3].id))
        #expect(!trace.happensBefore(events[3].id, events[0].id))
    }

    @Test("a record left half-written is a note when its process crashed or was killed, damage after a clean exit")
    func interruptedRecords() {
        func trace(ending last: EventKind?) -> Trace {
            let h = ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0)
            var events = [TraceEvent(kind: .start, pid: 1, puid: 1, seq: 0, time: 1,
                                     args: [.uint(0), .int(0), .uint(0), .uint(0), .uint(255), .string("main"), .string("")])]
            if let last {
                let args: [TraceValue] = last == .exit ? [.int(0)] : [.int(11), .int(0), .uint(0), .uint(0), .backtrace(.unavailable)]
                events.append(TraceEvent(kind: last, pid: 1, puid: 1, seq: 2, time: 3, args: args))
            }
            return Trace(processes: [ProcessTrace(header: h, events: events,
                                                  interrupted: ["offset 96: a record (kind 11) was reserved but never committed; skipped"])])
        }
        for ending in [EventKind.crash, nil] {
            let report = check(trace(ending: ending))
            #expect(!report.violations.contains { $0.rule == .damaged }, "\(String(describing: ending))")
            #expect(report.notes.contains { $0.contains("died while writing a record") })
        }
        #expect(check(trace(ending: .exit)).violations.contains { $0.rule == .damaged })
    }

    @Test("eight bytes overwritten inside a string, or a record's size changed, is reported as damage")
    func overwrittenBytesAreSeen() throws {
        let h = ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0)
        let events = [
            TraceEvent(kind: .start, pid: 1, puid: 1, seq: 0, time: 1,
                       args: [.uint(0), .int(0), .uint(0), .uint(0), .uint(255), .string("main"), .string("")]),
            TraceEvent(kind: .mark, pid: 1, puid: 1, seq: 1, time: 2, args: [.string("a label of some length")]),
            TraceEvent(kind: .exit, pid: 1, puid: 1, seq: 2, time: 3, args: [.int(0)]),
        ]
        let sound = ProcessTrace(header: h, events: events).binaryBytes()
        let markAt = TraceFormat.fileHeaderSize + Int(sound[TraceFormat.fileHeaderSize]) | Int(sound[TraceFormat.fileHeaderSize + 1]) << 8
        // 0xFF bytes in the middle of the label: never valid UTF-8.
        var label = sound
        for i in 0..<8 { label[markAt + TraceFormat.recordHeaderSize + 2 + 4 + i] = 0xFF }
        // The record's size in bytes no longer matching its size in words.
        var size = sound
        size[markAt] = size[markAt] &+ 8
        for (name, bytes) in [("label", label), ("size", size)] {
            let p = try bytes.withUnsafeBytes { try ProcessTrace(bytes: $0, source: name) }
            #expect(!p.damage.isEmpty, "\(name): \(p.events.map { $0.args })")
            #expect(!check(Trace(processes: [p])).ok, "\(name)")
        }
    }
}
