import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Queue, SimpleQueue and JoinableQueue across processes")
struct QueueTests {
    static let methods: [StartMethod] = [.fork, .spawn, .forkserver]

    static func shmEntries() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? [])
    }

    func run(_ args: [String]) throws -> (TestSupport.Output, Trace, CheckReport) {
        let (out, dir) = try TestSupport.runFixture(args, timeout: 120)
        let (trace, report) = try TestSupport.checkedTrace(dir)
        return (out, trace, report)
    }

    @Test("a child's items arrive in order with their content (JSON and plain-data paths); every recv names its send",
          arguments: methods)
    func order(method: StartMethod) throws {
        let shmBefore = Self.shmEntries()
        let (out, trace, report) = try run(["queue-order", method.description, "200"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["status exited(0)", "in order", "left 0"])
        #expect(report.ok, "\(report.violations)")
        let producer = try #require(trace.process(named: "producer"))
        let sends = trace.events(.send).filter { $0.puid == producer.header.puid }
        let recvs = trace.events(.recv)
        #expect(sends.count == 400 && recvs.count == 400)
        // Each recv names a send of the producer, and that send happens before it.
        for r in recvs {
            let send = EventID(puid: try #require(r["senderPuid"]?.uint), seq: try #require(r["sendSeq"]?.uint))
            #expect(send.puid == producer.header.puid)
            #expect(trace.happensBefore(send, r.id))
        }
        #expect(trace.events(.channelOpen).filter { $0["kind"]?.uint == 3 }.count >= 4, "both queues opened in both processes")
        #expect(report.notes.isEmpty, "\(report.notes)")
        #expect(Self.shmEntries().subtracting(shmBefore).isEmpty)
    }

    @Test("3 producers x 3 consumers lose and duplicate nothing (count and checksum); the trace check passes")
    func manyToMany() throws {
        let (out, trace, report) = try run(["queue-many", "fork", "3000"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["received 9000 of 9000", "checksum ok", "left 0"])
        #expect(report.ok, "\(report.violations)")
        let consumers = trace.processes.filter { $0.name.hasPrefix("consumer") }
        #expect(consumers.count == 3)
        let recvs = consumers.flatMap { $0.events.filter { $0.kind == .recv } }
        // 9,000 items and 3 sentinels on the work queue.
        #expect(recvs.count == 9003)
        #expect(Set(recvs.map { EventID(puid: $0["senderPuid"]!.uint!, seq: $0["sendSeq"]!.uint!) }).count == 9003)
    }

    @Test("a bounded queue raises Full and Empty, with and without timeouts; a child waits for room", arguments: methods)
    func bounded(method: StartMethod) throws {
        let (out, _, report) = try run(["queue-bounded", method.description])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "put 1: ok", "put 2: ok", "full: true size 2", "put 3 nowait: full", "put 3 in 50 ms: full",
            "get: 1 2", "empty: true", "get nowait: empty", "get in 50 ms: empty",
            "got [10, 11, 12, 13, 14]", "status exited(0)", "after close: closed",
        ])
        #expect(report.ok, "\(report.violations)")
    }

    @Test("JoinableQueue.join returns after every item's taskDone; one taskDone too many is an error", arguments: methods)
    func joinable(method: StartMethod) throws {
        let (out, trace, report) = try run(["queue-joinable", method.description, "50"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["joined true, unfinished 0", "sum 2450", "status exited(0)", "status exited(0)",
                              "extra taskDone: taskDoneTooOften"])
        #expect(report.ok, "\(report.violations)")
        let join = try #require(trace.events(.queueJoin).first)
        let done = trace.events(.queueTaskDone)
        #expect(done.count == 52, "50 jobs and 2 sentinels")
        let beforeJoin = done.filter { $0.time <= join.time }
        #expect(beforeJoin.count >= 50)
        #expect(beforeJoin.contains { $0["unfinished"]?.uint == 0 })
    }

    @Test("a producer that exits right after its puts loses nothing", arguments: methods)
    func producerExits(method: StartMethod) throws {
        let (out, _, report) = try run(["queue-producer-exits", method.description, "1000"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["status exited(0)", "all 1000 there"])
        #expect(report.ok, "\(report.violations)")
    }

    @Test("a 3 MB message crosses intact; one larger than the ring is an oversizedFrame error")
    func bigMessage() throws {
        let (out, trace, report) = try run(["queue-big", "spawn", "3000000"])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["big intact 3000000", "status exited(0)", "oversized: oversizedFrame"])
        #expect(report.ok, "\(report.violations)")
        #expect(trace.events(.recv).first?["size"]?.uint == 3_000_000)
    }

    @Test("children SIGKILLed while holding the queue's lock or waiting in get do not wedge it", arguments: methods)
    func killed(method: StartMethod) throws {
        let shmBefore = Self.shmEntries()
        let (out, trace, report) = try run(["queue-killed", method.description])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["child waiting", "child holding", "status signaled(SIGKILL)", "status signaled(SIGKILL)",
                              "after the kills: got 42, left 0"])
        #expect(report.ok, "\(report.violations)")
        #expect(trace.events(.mark).contains { $0["label"]?.string?.contains("recovered") == true })
        #expect(Self.shmEntries().subtracting(shmBefore).isEmpty)
    }
}
