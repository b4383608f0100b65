import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Reading and writing trace files")
struct TraceFileTests {
    static func sample() -> ProcessTrace {
        let h = ProcessHeader(pid: 42, ppid: 1, puid: 0xABCD, startTime: 1_000, realtime: 2_000)
        var events: [TraceEvent] = []
        func add(_ kind: EventKind, _ args: [TraceValue]) {
            events.append(TraceEvent(kind: kind, pid: 42, puid: 0xABCD, seq: UInt64(events.count),
                                     time: 1_000 + UInt64(events.count) * 10, args: args))
        }
        add(.start, [.uint(0), .int(1), .uint(0), .uint(0), .uint(255), .string("main"), .string("")])
        add(.modules, [.modules([Module(start: 0x1000, end: 0x2000, offset: 0, path: "/bin/x")])])
        add(.fork, [.int(43), .uint(7), .uint(0), .string("work"), .uint(0), .uint(0), .backtrace(Backtrace(frames: [1, 2, 3]))])
        add(.crash, [.int(11), .int(1), .uint(16), .uint(0x1234), .backtrace(.unavailable)])
        add(.join, [.int(43), .uint(7), .status(.signaled(9))])
        add(.terminate, [.int(43), .uint(7), .int(15)])
        add(.kill, [.int(43), .uint(7), .int(9)])
        add(.request, [.uint(8), .string("e"), .backtrace(Backtrace(frames: []))])
        add(.startFailed, [.uint(9), .string("no")])
        add(.mark, [.string("héllo")])
        add(.traceCut, [.int(28), .int(0)])
        add(.send, [.uint(0xC4A7), .uint(12)])
        add(.recv, [.uint(0xC4A7), .uint(0xABCD), .uint(12), .uint(12)])
        add(.channelOpen, [.uint(0xC4A7), .uint(1)])
        add(.channelClose, [.uint(0xC4A7)])
        add(.lockAcquire, [.uint(0x10C), .uint(1), .uint(0)])
        add(.lockRelease, [.uint(0x10C), .uint(1)])
        add(.semAcquire, [.uint(0x5E4), .uint(1), .uint(1), .uint(2)])
        add(.semRelease, [.uint(0x5E4), .uint(2), .uint(2), .uint(2)])
        add(.rlockAcquire, [.uint(0x2E1), .uint(1), .uint(1), .uint(0)])
        add(.rlockRelease, [.uint(0x2E1), .uint(1), .uint(0)])
        add(.barrierArrive, [.uint(0xBA7), .uint(0), .uint(0), .uint(1)])
        add(.barrierPass, [.uint(0xBA7), .uint(0), .uint(1)])
        add(.barrierBroken, [.uint(0xBA7), .uint(1), .uint(2)])
        add(.eventSet, [.uint(0xE7), .uint(1)])
        add(.eventWait, [.uint(0xE7), .uint(1), .uint(1)])
        add(.conditionNotify, [.uint(0xC0), .uint(1), .uint(1)])
        add(.conditionWait, [.uint(0xC0), .uint(1), .uint(1)])
        add(.queueTaskDone, [.uint(0xC4A7), .uint(2)])
        add(.queueJoin, [.uint(0xC4A7)])
        add(.waitBegin, [.uint(UInt64(WaitKind.lock.rawValue)), .uint(0x10C), .uint(1)])
        add(.waitEnd, [.uint(UInt64(WaitKind.lock.rawValue)), .uint(0x10C), .uint(UInt64(WaitOutcome.done.rawValue))])
        add(.poolCreate, [.uint(0x9001), .uint(2), .uint(0), .uint(2)])
        add(.poolSubmit, [.uint(0x9001), .uint(1), .uint(1), .uint(0), .uint(3), .uint(1)])
        add(.poolDispatch, [.uint(0x9001), .uint(1), .uint(7), .uint(0)])
        add(.taskBegin, [.uint(0x9001), .uint(1)])
        add(.taskEnd, [.uint(0x9001), .uint(1), .uint(1)])
        add(.poolResult, [.uint(0x9001), .uint(1), .uint(1), .uint(0), .uint(0)])
        add(.workerReplaced, [.uint(0x9001), .uint(7), .uint(8), .uint(1)])
        add(.poolClose, [.uint(0x9001), .uint(0)])
        add(.eventTruncated, [.uint(UInt64(EventKind.mark.rawValue)), .uint(70_000), .uint(3), .uint(1)])
        add(.exit, [.int(3)])
        return ProcessTrace(header: h, events: events)
    }

    func parse(_ bytes: [UInt8]) throws -> ProcessTrace {
        try bytes.withUnsafeBytes { try ProcessTrace(bytes: $0, source: "test") }
    }

    @Test("every kind survives a write and a read")
    func roundTrip() throws {
        let t = Self.sample()
        #expect(Set(t.events.map(\.kind)) == Set(EventKind.allCases))
        let back = try parse(t.binaryBytes())
        #expect(back.header == t.header)
        #expect(back.events == t.events)
        #expect(back.damage.isEmpty)
    }

    @Test("a file cut in the middle of a record keeps the sound records and reports the damage")
    func truncated() throws {
        let bytes = Self.sample().binaryBytes()
        let back = try parse(Array(bytes.prefix(bytes.count - 5)))
        #expect(back.events == Array(Self.sample().events.dropLast()))
        #expect(back.damage.count == 1)
        #expect(back.damage[0].contains("truncated"))
    }

    @Test("a reserved but uncommitted record is skipped and reported")
    func uncommitted() throws {
        var bytes = Self.sample().binaryBytes()
        // Zero the size of the third record (the fork): as if its writer died before committing.
        var at = TraceFormat.fileHeaderSize
        for _ in 0..<2 { at += Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        for i in 0..<4 { bytes[at + i] = 0 }
        let back = try parse(bytes)
        #expect(back.events.map(\.kind) == Self.sample().events.map(\.kind).filter { $0 != .fork })
        #expect(back.damage.isEmpty)
        #expect(back.interrupted.count == 1, "kept apart: the checker decides by how the process ended")
    }

    @Test("garbage, a short file and a newer version are clear errors", arguments: [
        ([UInt8](repeating: 7, count: 100), "bad magic"),
        ([UInt8](repeating: 0, count: 10), "shorter than"),
    ])
    func unreadable(bytes: [UInt8], message: String) {
        #expect { try parse(bytes) } throws: { ($0 as? TraceFileError)?.description.contains(message) == true }
    }

    @Test("a file from a newer format version is refused with its version")
    func newerVersion() {
        var bytes = Self.sample().binaryBytes()
        bytes[8] = 99
        #expect { try parse(bytes) } throws: { "\($0)".contains("version 99 is newer") }
    }

    @Test("unknown kinds from a newer writer are skipped and reported")
    func unknownKind() throws {
        var bytes = Self.sample().binaryBytes()
        let at = TraceFormat.fileHeaderSize
        bytes[at + 4] = 0x00
        bytes[at + 5] = 0x7F  // kind 0x7F00
        let back = try parse(bytes)
        #expect(back.events.count == Self.sample().events.count - 1)
        #expect(back.damage.contains { $0.contains("unknown kind") })
    }
}
