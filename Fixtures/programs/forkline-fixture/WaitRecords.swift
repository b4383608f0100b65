// `forkline-fixture wait-records METHOD`: the parent blocks once on each kind of wait, and a
// child ends each wait only once the parent is really asleep in it (its main thread in state S
// after the parent announced the step), so every wait is a slow path by construction, never by
// timing. Before that, uncontended acquires, puts and gets, between two marks, must record no
// wait at all.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct WaitRecordArgs: Codable, Sendable {
    var lock: Lock
    var data: Connection
    var control: Connection
    var queue: Queue<Int>
    var full: Queue<Int>
    var sem: Forkline.Semaphore
    var event: Event
    var barrier: Barrier
}

enum WaitRecords {
    /// Polls /proc until `pid`'s main thread sleeps interruptibly (state S: a futex or a read), up to 60 s.
    static func awaitAsleep(_ pid: Int32) {
        for _ in 0..<30_000 {
            if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") {
                let state = stat[stat.index(close, offsetBy: 2)]
                if state == "S" { return }  // not D: a page fault on the trace file is no wait
            }
            usleep(2000)
        }
    }

    static let peer = EntryPoint<WaitRecordArgs>("wait-record-peer") { a in
        let parent = getppid()
        _ = a.lock.acquire()
        try a.data.send("holding")
        while let step = try a.control.receive(String.self) {
            awaitAsleep(parent)
            switch step {
            case "lock": try a.lock.release()
            case "recv": try a.data.send("late")
            case "get": try a.queue.put(3)
            case "put": _ = try a.full.get()
            case "sem": try a.sem.release()
            case "event": a.event.set()
            case "barrier": _ = try a.barrier.wait()
            case "join": return
            default: break
            }
        }
    }

    static func run(method m: StartMethod) throws {
        let lock = try Lock(), sem = try Forkline.Semaphore(value: 0), event = try Event(), barrier = try Barrier(parties: 2)
        let (data, childData) = try Connection.pipe()
        let (control, childControl) = try Connection.pipe()
        let queue = try Queue<Int>(), full = try Queue<Int>(maxSize: 1)
        let (near, far) = try Connection.pipe(), (pipeIn, pipeOut) = try Connection.pipe(duplex: false)
        let free = try Forkline.Semaphore(value: 1), setEvent = try Event()
        setEvent.set()
        Tracer.mark("uncontended-begin")
        for i in 0..<3 {
            _ = lock.acquire()
            try lock.release()
            try queue.put(i)
            _ = try queue.get()
            try near.send(i)
            _ = try far.receive(Int.self)
            try pipeOut.send(i)
            _ = try pipeIn.receive(Int.self)
            free.acquire()
            try free.release()
            _ = setEvent.wait()
        }
        Tracer.mark("uncontended-end")
        var o = ChildOptions(method: m)
        o.pass(lock); o.pass(childData); o.pass(childControl); o.pass(queue); o.pass(full); o.pass(sem); o.pass(event); o.pass(barrier)
        let child = try ChildProcess(entry: peer, arguments: WaitRecordArgs(lock: lock, data: childData, control: childControl, queue: queue,
                                                                            full: full, sem: sem, event: event, barrier: barrier), options: o)
        try child.start()
        print("peer says \(try data.receive(String.self) ?? "nothing")")
        try control.send("lock")
        _ = lock.acquire()
        try lock.release()
        try control.send("recv")
        print("received \(try data.receive(String.self) ?? "nothing")")
        try control.send("get")
        print("got \(try queue.get(timeout: .seconds(60)))")
        try full.put(1)
        try control.send("put")
        try full.put(2, timeout: .seconds(60))
        try control.send("sem")
        print("semaphore \(sem.acquire(timeout: .seconds(60)))")
        try control.send("event")
        print("event \(event.wait(timeout: .seconds(60)))")
        try control.send("barrier")
        _ = try barrier.wait(timeout: .seconds(60))
        try control.send("join")
        print("child \(try child.join(timeout: .seconds(60)).map { "\($0)" } ?? "still running")")
    }
}
