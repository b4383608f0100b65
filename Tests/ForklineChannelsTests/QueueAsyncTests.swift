import Forkline
import ForklineTestSupport
import Foundation
import Testing

@Suite("Queue async twins and encodings, in one process")
struct QueueAsyncTests {
    struct Point: Codable, Sendable, Equatable { var x: Int32; var y: Double }
    struct Named: Codable, Sendable, Equatable { var name: String; var tags: [String] }

    @Test("an async get suspends until another thread puts")
    func asyncGetWaits() async throws {
        let q = try Queue<Int>()
        let putter = Thread { usleep(50_000); try? q.putNowait(7) }
        putter.start()
        #expect(try await q.get(timeout: .seconds(10)) == 7)
    }

    @Test("an async get times out with empty, an async put on a full queue with full")
    func asyncTimeouts() async throws {
        let q = try Queue<Int>(maxSize: 1)
        await #expect(throws: ChannelError.self) { _ = try await q.get(timeout: .milliseconds(30)) }
        try await q.put(1)
        do {
            try await q.put(2, timeout: .milliseconds(30))
            Issue.record("a put into a full queue succeeded")
        } catch {
            #expect(error.code == .full)
        }
    }

    // In a process of its own (the fixture): in this shared test process the join timed out at
    // 120 s in about one full-suite run in three, while it passed 15 of 15 runs alone; the
    // interaction is not found yet (see the closing note of 2026-12-01).
    @Test("an async put waits for room, and an async join for every taskDone")
    func asyncPutAndJoin() throws {
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["queue-async-join"], timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["joined true unfinished 0 empty true"], "\(out.lines)")
    }

    @Test("plain data, strings, bytes, optionals and JSON-coded values come back equal")
    func encodings() throws {
        let points = try Queue<Point>(), strings = try SimpleQueue<String>(), bytes = try Queue<[UInt8]>()
        let optionals = try Queue<Int?>(), named = try Queue<Named>()
        try points.putNowait(Point(x: -3, y: 2.5))
        try strings.put("héllo, wörld")
        try strings.put("")
        try bytes.putNowait([0, 255, 7])
        try optionals.putNowait(nil)
        try optionals.putNowait(4)
        try named.putNowait(Named(name: "n", tags: ["a", "b"]))
        #expect(try points.getNowait() == Point(x: -3, y: 2.5))
        #expect(try strings.get() == "héllo, wörld")
        #expect(try strings.get() == "")
        #expect(try bytes.getNowait() == [0, 255, 7])
        #expect(try optionals.getNowait() == nil)
        #expect(try optionals.getNowait() == 4)
        #expect(try named.getNowait() == Named(name: "n", tags: ["a", "b"]))
    }

    @Test("items wrap around the end of a small ring intact")
    func wrapAround() throws {
        let q = try Queue<String>(capacity: 256)
        for round in 0..<200 {
            let s = String(repeating: "x", count: round % 50) + "\(round)"
            try q.putNowait(s)
            #expect(try q.getNowait() == s)
        }
        #expect(q.maxMessageSize == 232)
    }
}
