// An async put that waits for room and an async join that waits for every taskDone, in a process
// of its own (see QueueAsyncTests: in the shared test process this scenario timed out in about
// one full-suite run in three, and passed every run alone; the cause is not found yet).
import Forkline
import Foundation

enum QueueAsyncJoin {
    /// `queue-async-join`: prints `joined BOOL unfinished N empty BOOL`.
    static func run() async throws {
        let q = try JoinableQueue<Int>(maxSize: 1)
        try q.putNowait(1)
        let getter = Thread {
            usleep(30_000)
            // Errors go to stderr (the test prints it when it fails): a second get that timed out
            // before the async put's item came, then a taskDone refused as one too many, would
            // leave exactly the "unfinished 1" once seen in the shared test process.
            for round in 0..<2 {
                do { _ = try q.get(timeout: .seconds(120)) } catch { writeStderrLine("getter round \(round): get: \(error)") }
                do { try q.taskDone() } catch { writeStderrLine("getter round \(round): taskDone: \(error)") }
            }
        }
        getter.start()
        try await q.put(2, timeout: .seconds(120))
        let joined = try await q.join(timeout: .seconds(120))
        print("joined \(joined) unfinished \(q.unfinishedTasks) empty \(q.isEmpty)")
    }
}
