import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// A process SIGKILLed inside a queue operation, at the exact instruction window (a fault hook
/// in the queue's code kills it there, every run): `JoinableQueue.join()` still ends.
@Suite("Queue users killed inside put and get")
struct QueueDeathTests {
    static let methods: [StartMethod] = [.fork, .spawn, .forkserver]

    /// Runs a scenario and checks its trace. `sendReserved`: the victim was killed between
    /// reserving its `send` event and committing it (inside the put, before the item was
    /// published), which the reader reports as one half-written record of that process: a note,
    /// since the process was killed (`ProcessTrace.interrupted`); nothing may be wrong.
    func run(_ scenario: String, _ method: StartMethod, sendReserved: Bool = false) throws -> [String] {
        let (out, dir) = try TestSupport.runFixture([scenario, method.description], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        let (_, report) = try TestSupport.checkedTrace(dir)
        let skipped = report.notes.filter { $0.contains("(kind \(EventKind.send.rawValue)) was reserved but never committed") }
        #expect(skipped.count == (sendReserved ? 1 : 0), "\(report.notes)")
        #expect(report.violations.isEmpty, "\(report.violations)")
        return out.lines
    }

    @Test("a producer killed inside put before its item is published: the item was never put, join ends", arguments: methods)
    func putUnpublished(method: StartMethod) throws {
        #expect(try run("fault-joinable-put-unpublished", method, sendReserved: true) == [
            "victim signaled(SIGKILL)", "got [1, 2]", "joined", "unfinished 0 qsize 0",
        ])
    }

    @Test("a producer killed inside put after its item is published: the item is got and done, join ends", arguments: methods)
    func putPublished(method: StartMethod) throws {
        #expect(try run("fault-joinable-put-published", method) == [
            "victim signaled(SIGKILL)", "got [1, 2, 100]", "joined", "unfinished 0 qsize 0",
        ])
    }

    @Test("a consumer killed inside get after taking an item: join throws itemLost naming it, instead of hanging", arguments: methods)
    func getTaken(method: StartMethod) throws {
        #expect(try run("fault-joinable-get-taken", method) == [
            "victim signaled(SIGKILL)", "got [2]", "join itemLost names-item", "unfinished 0 qsize 0",
        ])
    }

    @Test("a consumer killed inside taskDone, before the count went down: the taskDone is finished for it, join ends", arguments: methods)
    func inTaskDone(method: StartMethod) throws {
        #expect(try run("fault-joinable-in-task-done", method) == [
            "victim signaled(SIGKILL)", "got [2]", "joined", "unfinished 0 qsize 0",
        ])
    }
}
