// `forkline-fixture queue-streams METHOD`: a getter (putter) that finds the queue empty (full)
// and sees the position it waits on move keeps watching while it moves, to take a batch
// (queue.c, `settle`). Pinned here: a lone item still comes out at once (a ping-pong of single
// items), streams through a small ring (both sides waiting on each other) keep every item in
// order, a producer SIGKILLed in the middle of a 2 x 2 stream leaves exactly a prefix of its
// items (none lost, none twice), and a getter (putter) left waiting ends asleep in the kernel,
// not spinning.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum QueueStreams {
    struct PingArgs: Codable, Sendable { var ping: Queue<Int>; var pong: Queue<Int>; var count: Int }
    struct StreamArgs: Codable, Sendable { var queue: Queue<Int>; var from: Int; var count: Int; var results: Queue<[Int]>? }

    /// Answers each ping with the same number plus one, `count` times.
    static let ponger = EntryPoint<PingArgs>("queue-streams-ponger") { a in
        for _ in 0..<a.count { try a.pong.put(try a.ping.get(timeout: .seconds(60)) + 1) }
    }

    /// Puts `from ..< from + count`; with `count` < 0 for ever (counting up from `from`).
    static let producer = EntryPoint<StreamArgs>("queue-streams-producer") { a in
        var i = a.from
        while a.count < 0 || i < a.from + a.count {
            try a.queue.put(i)
            i += 1
        }
    }

    /// Gets integers until a -1 and puts them all, in the order got, on `results`.
    static let consumer = EntryPoint<StreamArgs>("queue-streams-consumer") { a in
        var got: [Int] = []
        while true {
            let v = try a.queue.get(timeout: .seconds(60))
            if v == -1 { break }
            got.append(v)
        }
        try a.results!.put(got)
    }

    /// Gets one item from an empty queue (it never comes).
    static let waiter = EntryPoint<StreamArgs>("queue-streams-waiter") { a in _ = try a.queue.get() }

    static let entries: [any AnyEntryPoint] = [ponger, producer, consumer, waiter]

    /// `/proc`'s state letter of process `pid` (its main thread), "?" when unreadable.
    static func state(_ pid: Int32) -> String {
        guard let f = fopen("/proc/\(pid)/stat", "r") else { return "?" }
        defer { fclose(f) }
        var buf = [CChar](repeating: 0, count: 512)
        guard fgets(&buf, Int32(buf.count), f) != nil else { return "?" }
        let line = String(cString: buf)
        guard let close = line.lastIndex(of: ")") else { return "?" }
        return String(line[line.index(close, offsetBy: 2)])
    }

    /// Waits (up to a minute) until `pid` sleeps in the kernel and the queue counts it asleep.
    static func asleep(_ pid: Int32, counted: () -> Bool) -> Bool {
        for _ in 0..<60_000 {
            if state(pid) == "S" && counted() { return true }
            usleep(1000)
        }
        return false
    }

    static func run(method m: StartMethod) throws {
        // 1. Ping-pong: every get finds its queue empty and waits for one lone item.
        let ping = try Queue<Int>(), pong = try Queue<Int>()
        let p = try Queues.start(ponger, PingArgs(ping: ping, pong: pong, count: 2000), m, name: "ponger", pass: [ping, pong])
        var v = 0, pingsOK = true
        for _ in 0..<2000 {
            try ping.put(v)
            let back = try pong.get(timeout: .seconds(60))
            pingsOK = pingsOK && back == v + 1
            v = back
        }
        _ = try p.join(timeout: nil)
        print("ping-pong 2000 in order \(pingsOK)")

        // 2. 1 x 1 through a 256-byte ring (16 Ints): each side waits for the other in turn.
        let small = try Queue<Int>(capacity: 256), results = try Queue<[Int]>()
        let sp = try Queues.start(producer, StreamArgs(queue: small, from: 0, count: 100_000), m, name: "producer", pass: [small])
        var order = true
        for i in 0..<100_000 where try small.get(timeout: .seconds(60)) != i { order = false }
        _ = try sp.join(timeout: nil)
        print("small ring 1x1: 100000 in order \(order), left \(small.qsize)")

        // 3. 2 x 2, a producer SIGKILLed in the middle: the other's 50,000 all got, the killed
        // one's a prefix of its items, none twice, each consumer in each producer's order.
        let q = try Queue<Int>(capacity: 4096)
        let whole = try Queues.start(producer, StreamArgs(queue: q, from: 0, count: 50_000), m, name: "producer-whole", pass: [q])
        let killed = try Queues.start(producer, StreamArgs(queue: q, from: 1_000_000, count: -1), m, name: "producer-killed", pass: [q])
        let consumers = try (0..<2).map { i in
            try Queues.start(consumer, StreamArgs(queue: q, from: 0, count: 0, results: results), m, name: "consumer-\(i)", pass: [q, results])
        }
        _ = try whole.join(timeout: nil)
        try killed.kill()
        print("killed producer: \(try killed.join(timeout: nil)!)")
        for _ in consumers { try q.put(-1) }
        let lists = try consumers.map { _ in try results.get(timeout: .seconds(60)) }
        for c in consumers { _ = try c.join(timeout: nil) }
        let all = lists.flatMap { $0 }
        let fromWhole = all.filter { $0 < 1_000_000 }.sorted(), fromKilled = all.filter { $0 >= 1_000_000 }.sorted()
        let inOrder = lists.allSatisfy { l in
            let a = l.filter { $0 < 1_000_000 }, b = l.filter { $0 >= 1_000_000 }
            return a == a.sorted() && b == b.sorted()
        }
        print("2x2 with a kill: whole \(fromWhole == Array(0..<50_000)), killed a prefix \(fromKilled == Array(1_000_000..<(1_000_000 + fromKilled.count))) (\(fromKilled.count > 0 ? "some" : "none")), in order \(inOrder), left \(q.qsize)")

        // 4. Left waiting, a getter on an empty queue and a putter on a full one sleep.
        let empty = try Queue<Int>()
        let w = try Queues.start(waiter, StreamArgs(queue: empty, from: 0, count: 0), m, name: "waiter", pass: [empty])
        print("getter on an empty queue asleep \(asleep(w.pid!) { empty.sleepingGetters == 1 })")
        try w.kill()
        _ = try w.join(timeout: nil)
        let full = try Queue<Int>(maxSize: 1)
        try full.put(0)
        let fp = try Queues.start(producer, StreamArgs(queue: full, from: 1, count: 1), m, name: "blocked-putter", pass: [full])
        print("putter on a full queue asleep \(asleep(fp.pid!) { full.sleepingPutters == 1 })")
        try fp.kill()
        _ = try fp.join(timeout: nil)
    }
}
