// `forkline-fixture queue-dead-sleeper METHOD`: a getter SIGKILLed while asleep in `get` (in the
// kernel, counted as a sleeper) must not stay counted: every later put would make a futex wake
// for nobody. The parent waits until the child sleeps, kills it, then puts and gets 200 items
// and prints how many getters the queue still counts asleep.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum QueueDeadSleeper {
    struct Args: Codable, Sendable { var queue: Queue<Int> }

    static let sleeper = EntryPoint<Args>("queue-dead-sleeper-getter") { a in _ = try a.queue.get() }

    static let entries: [any AnyEntryPoint] = [sleeper]

    static func run(method m: StartMethod) throws {
        let q = try Queue<Int>()
        var o = ChildOptions(name: "sleeper", method: m)
        o.pass(q)
        let child = try ChildProcess(entry: sleeper, arguments: Args(queue: q), options: o)
        try child.start()
        for _ in 0..<60_000 where q.sleepingGetters == 0 { usleep(1000) }  // up to a minute
        print("getters asleep: \(q.sleepingGetters)")
        try child.kill()
        print("status \(try child.join(timeout: nil)!)")
        for i in 0..<200 {
            try q.put(i)
            _ = try q.get()
        }
        print("after 200 puts: getters asleep \(q.sleepingGetters)")
    }
}
