import ArgumentParser
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct TransferArgs: Codable, Sendable { var from: Lock; var to: Lock; var bothHoldOne: Barrier }

/// A transfer between two accounts that locks the source first, then the destination: run by
/// two workers in opposite directions, each ends up holding one lock and waiting for the other's.
let transfer = EntryPoint<TransferArgs>("transfer") { a in
    _ = a.from.acquire()
    _ = try a.bothHoldOne.wait()  // make the bad interleaving certain, for the demonstration
    _ = a.to.acquire()
    try a.to.release()
    try a.from.release()
}

/// The classic lock-order deadlock, to try `replay status` on: run it traced, and while it hangs
/// ask the trace who waits for whom.
struct Deadlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deadlock",
        abstract: "Two workers take two locks in opposite orders and hang; try `replay status` on its trace.",
        discussion: "FORKLINE_TRACE=/tmp/dl forkline-examples deadlock & sleep 1; replay status /tmp/dl")
    @OptionGroup var options: MethodOption
    @Option(help: "Seconds to wait for the workers before killing them (the program then exits 1).") var giveUpAfter = 10

    func run() async throws {
        let a = try Lock(), b = try Lock(), both = try Barrier(parties: 2)
        var workers: [ChildProcess] = []
        for (name, from, to) in [("transfer-a-to-b", a, b), ("transfer-b-to-a", b, a)] {
            var o = ChildOptions(method: options.method)
            o.name = name
            o.pass(a); o.pass(b); o.pass(both)
            let w = try ChildProcess(entry: transfer, arguments: TransferArgs(from: from, to: to, bothHoldOne: both), options: o)
            try w.start()
            workers.append(w)
        }
        print("workers \(workers.map { "\($0.name) (pid \($0.pid ?? 0))" }.joined(separator: ", ")) started")
        fflush(nil)
        let deadline = ContinuousClock.now + .seconds(giveUpAfter)
        var done = 0
        for w in workers {
            let left = max(Duration.zero, deadline - ContinuousClock.now)
            if try await joinOrNil(w, left) != nil { done += 1 }
        }
        if done == workers.count {
            print("both transfers finished")
            return
        }
        print("the workers are deadlocked; gave up after \(giveUpAfter) s and killed them")
        for w in workers {
            try? w.kill()
            _ = try await w.join()
        }
        throw ExitCode(1)
    }

    func joinOrNil(_ w: ChildProcess, _ timeout: Duration) async throws -> ExitStatus? {
        try await withThrowingTaskGroup(of: ExitStatus?.self) { group in
            group.addTask { try await w.join() }
            group.addTask {
                try await _Concurrency.Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }
}
