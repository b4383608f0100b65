import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Waits are recorded on the slow path only: a call that had to block records `waitBegin` and
/// `waitEnd` around its wait; an uncontended acquire, put or get records nothing new.
@Suite("Wait records")
struct WaitRecordTests {
    /// The uncontended window: Lock, Queue, duplex Connection, one-way pipe, Semaphore, Event.
    @Test("each blocking call that had to wait records waitBegin/waitEnd; uncontended calls record none", arguments: [StartMethod.fork, .spawn])
    func slowPathOnly(method: StartMethod) throws {
        let (out, dir) = try TestSupport.runFixture(["wait-records", method.description])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["peer says holding", "received late", "got 3", "semaphore true", "event true", "child exited(0)"])
        let (trace, report) = try TestSupport.checkedTrace(dir)
        #expect(report.ok, "\(report.violations)")
        let root = try #require(trace.processes.first { $0.events.first?["parentPuid"]?.uint == 0 })
        let events = root.events
        let begin = try #require(events.firstIndex { $0.kind == .mark && $0["label"]?.string == "uncontended-begin" })
        let end = try #require(events.firstIndex { $0.kind == .mark && $0["label"]?.string == "uncontended-end" })
        let quiet = events[begin...end]
        #expect(quiet.filter { $0.kind == .lockAcquire }.count == 3 && quiet.filter { $0.kind == .recv }.count == 9)
        #expect(quiet.filter { $0.kind == .semAcquire }.count == 3 && quiet.filter { $0.kind == .eventWait }.count == 3)
        #expect(!quiet.contains { $0.kind == .waitBegin || $0.kind == .waitEnd }, "an uncontended call records no wait")

        // After the child starts: one wait of each kind, in the program's order, each closed.
        let waits = events[end...].filter { $0.kind == .waitBegin }.compactMap { $0["what"]?.uint.flatMap { WaitKind(rawValue: UInt8($0)) } }
        #expect(waits == [.channel, .lock, .channel, .queueGet, .queuePut, .semaphore, .event, .barrier, .child]
            || waits == [.lock, .channel, .queueGet, .queuePut, .semaphore, .event, .barrier, .child],
            "the first receive waits only if the child was not quick")
        for b in events[end...] where b.kind == .waitBegin {
            let after = events[events.firstIndex(of: b)!...].dropFirst()
            let e = try #require(after.first { $0.kind == .waitEnd || $0.kind == .waitBegin }, "\(b)")
            #expect(e.kind == .waitEnd && e["what"] == b["what"] && e["object"] == b["object"] && e["outcome"]?.uint == 0, "\(b) closed by \(e)")
        }
        // The lock wait names the hold it waited behind: the child's acquire of that generation.
        let child = try #require(trace.processes.first { $0.header.puid != root.header.puid })
        let lockWait = try #require(events.first { $0.kind == .waitBegin && $0["what"]?.uint == UInt64(WaitKind.lock.rawValue) })
        let held = try #require(child.events.first { $0.kind == .lockAcquire })
        #expect(lockWait["object"] == held["lock"] && lockWait["ref"] == held["generation"])
        let joinWait = try #require(events.first { $0.kind == .waitBegin && $0["what"]?.uint == UInt64(WaitKind.child.rawValue) })
        #expect(joinWait["object"]?.uint == child.header.puid)
    }
}
