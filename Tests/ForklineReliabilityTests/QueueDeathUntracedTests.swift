import ForklineTestSupport
import ForklineTrace
import Testing

/// The same kills as ``QueueDeathTests``, with tracing off: an untraced put or get is one call
/// into queue.c (`fl_queue_put_now`, `fl_queue_get_now`), a path of its own, whose fault points
/// must give the same outcomes. (Untraced items carry no sender, so a lost one is not named.)
@Suite("Queue users killed inside untraced put and get")
struct QueueDeathUntracedTests {
    func run(_ scenario: String, _ method: StartMethod) throws -> [String] {
        // TestSupport.run removes FORKLINE_TRACE from the child's environment: untraced.
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), [scenario, method.description], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        return out.lines
    }

    @Test("killed inside put, before or after publishing, or inside get or taskDone: join ends as when traced",
          arguments: [StartMethod.fork, .spawn])
    func untracedKills(method: StartMethod) throws {
        #expect(try run("fault-joinable-put-unpublished", method) == [
            "victim signaled(SIGKILL)", "got [1, 2]", "joined", "unfinished 0 qsize 0",
        ])
        #expect(try run("fault-joinable-put-published", method) == [
            "victim signaled(SIGKILL)", "got [1, 2, 100]", "joined", "unfinished 0 qsize 0",
        ])
        #expect(try run("fault-joinable-get-taken", method) == [
            "victim signaled(SIGKILL)", "got [2]", "join itemLost", "unfinished 0 qsize 0",
        ])
        #expect(try run("fault-joinable-in-task-done", method) == [
            "victim signaled(SIGKILL)", "got [2]", "joined", "unfinished 0 qsize 0",
        ])
    }
}
