// `forkline-fixture queue-zombie-holder METHOD`: as `queue-sides`, but the parent gets every
// item while the SIGKILLed holder of the getters' lock is not yet reaped (a zombie, to the
// kernel still there): the get must see that the holder is dead and take its lock over.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum QueueZombieHolder {
    static func run(method m: StartMethod) throws {
        let q = try Queue<Int>(), ready = try Queue<String>()
        var o = ChildOptions(name: "get-holder", method: m)
        o.pass(q, ready)
        let child = try ChildProcess(entry: QueueSides.getHolder, arguments: QueueSides.Args(queue: q, ready: ready), options: o)
        try child.start()
        print("child \(try ready.get(timeout: .seconds(30)))")
        for i in 0..<100 { try q.put(i, timeout: .seconds(5)) }
        try child.kill()
        var got: [Int] = []
        while got.count < 100 { got.append(try q.get(timeout: .seconds(30))) }
        print("before the reap: got \(got.count), in order \(got == Array(0..<100)), left \(q.qsize)")
        print("status \(try child.join(timeout: nil)!)")
    }
}
