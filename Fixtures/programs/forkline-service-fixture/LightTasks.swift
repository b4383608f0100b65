import ArgumentParser
import Forkline
import ForklineService

#if canImport(Glibc)
import Glibc
#endif

/// A service's light tasks through `apply` (issue 14 item 4): 16 concurrent callers, each
/// awaiting one task at a time on 2 workers, each getting its own output; then an `apply` whose
/// caller is cancelled while its task waits behind two busy workers: it throws at once, its task
/// never runs, and the pool goes on.
struct LightTasks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "light-tasks")
    @Option var callers = 16
    @Option var perCaller = 20

    func run() async throws {
        let pool = try Pool(workers: 2)
        let (callers, perCaller) = (self.callers, self.perCaller)
        let wrong = try await withThrowingTaskGroup(of: Int.self) { g in
            for c in 0..<callers {
                g.addTask {
                    var wrong = 0
                    for i in 0..<perCaller {
                        let x = c * 1000 + i
                        if try await pool.apply(square, x) != x * x { wrong += 1 }
                    }
                    return wrong
                }
            }
            return try await g.reduce(0, +)
        }
        say("callers \(callers) tasks \(callers * perCaller) wrong \(wrong)")

        let dir = String(cString: mkdtemp(strdup("/tmp/forkline-light-XXXXXX"))!)
        let blockers = (0..<2).map { i in
            Task { try await pool.apply(sleepAfterBegun, Begun(path: "\(dir)/begun-\(i)", ms: 1_500)) }
        }
        guard waitForFile("\(dir)/begun-0"), waitForFile("\(dir)/begun-1") else { return say("the blockers never began") }
        let queued = Task { try await pool.apply(square, 7) }
        queued.cancel()
        do { say("queued \(try await queued.value)") } catch { say("queued \(type(of: error))") }
        var ends: [Int] = []
        for b in blockers { ends.append(try await b.value) }
        say("blockers \(ends)")
        say("after \(try await pool.apply(square, 7))")
        await pool.join()
        for i in 0..<2 { unlink("\(dir)/begun-\(i)") }
        rmdir(dir)
    }
}
