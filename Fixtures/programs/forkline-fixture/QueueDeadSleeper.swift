// `forkline-fixture queue-dead-sleeper METHOD`: a getter SIGKILLed while asleep in `get` (in the
// kernel, counted as a sleeper) must not stay counted: every later put would make a futex wake
// for nobody. The parent waits until the child sleeps, kills it, then puts and gets items
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
        // 200 puts, then more (1 ms apart) while the dead getter is still counted, for up to
        // 10 s: the count is taken back by a put's wake-up within 100 ms of the first.
        var puts = 0
        while puts < 200 || (q.sleepingGetters != 0 && puts < 10_200) {
            try q.put(puts)
            _ = try q.get()
            puts += 1
            if puts >= 200 { usleep(1000) }
        }
        print("after the puts: getters asleep \(q.sleepingGetters)")
    }
}
