// `forkline-fixture queue-sides METHOD`: puts go on while a getter is inside get. A child takes
// the getters' side of the queue and is then stopped there for good (a test hook holds the lock
// a get holds); the parent's puts must not wait for it (puts and gets have separate locks, so a
// producer never waits for a consumer's critical section, nor the other way). Then the child is
// SIGKILLed and the parent gets every item, in order, recovering the dead holder's lock.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum QueueSides {
    struct Args: Codable, Sendable { var queue: Queue<Int>; var ready: Queue<String> }

    /// Holds the getters' lock of `queue`, says so, then sleeps until killed.
    static let getHolder = EntryPoint<Args>("queue-get-holder") { a in
        a.queue.holdGetLockForever()
        try a.ready.put("holding the get side")
        sleep(600)
    }

    static let entries: [any AnyEntryPoint] = [getHolder]

    static func run(method m: StartMethod) throws {
        let q = try Queue<Int>(), ready = try Queue<String>()
        var o = ChildOptions(name: "get-holder", method: m)
        o.pass(q, ready)
        let child = try ChildProcess(entry: getHolder, arguments: Args(queue: q, ready: ready), options: o)
        try child.start()
        print("child \(try ready.get(timeout: .seconds(30)))")
        var put = 0
        do {
            for i in 0..<1000 { try q.put(i, timeout: .seconds(5)); put += 1 }
            print("put 1000 while a getter held the get side")
        } catch {
            print("put failed after \(put) items: \(error.code)")
        }
        try child.kill()
        print("status \(try child.join(timeout: nil)!)")
        var got: [Int] = []
        while got.count < put { got.append(try q.get(timeout: .seconds(5))) }
        print("after the kill: got \(got.count), in order \(got == Array(0..<put)), left \(q.qsize)")
    }
}
