// Queue scenarios (`forkline-fixture queue-* METHOD [N]`): producers and consumers in children of
// any start method; each prints facts the tests assert on, the trace is the rest of the oracle.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct Note: Codable, Sendable, Equatable { var n: Int; var text: String }
struct Tally: Codable, Sendable { var count: Int; var sum: Int }
struct QueueArgs: Codable, Sendable { var queue: Queue<Int>; var from: Int; var count: Int; var results: Queue<Tally>? }
struct NoteArgs: Codable, Sendable { var notes: Queue<Note>; var ints: Queue<Int>; var count: Int }
struct JoinArgs: Codable, Sendable { var jobs: JoinableQueue<Int>; var results: SimpleQueue<Int> }
struct BytesArgs: Codable, Sendable { var queue: Queue<[UInt8]>; var size: Int }
struct HogArgs: Codable, Sendable { var queue: Queue<Int>; var ready: Queue<String>; var hold: Bool }

enum Queues {
    /// Puts `count` notes (JSON) and `count` integers (plain bytes), in order.
    static let noteProducer = EntryPoint<NoteArgs>("queue-note-producer") { a in
        for i in 0..<a.count {
            try a.notes.put(Note(n: i, text: "note \(i) é"))
            try a.ints.put(i * 7)
        }
    }

    /// Puts `from ..< from + count`, then exits at once (nothing left behind in a buffer).
    static let producer = EntryPoint<QueueArgs>("queue-producer") { a in
        for i in a.from..<(a.from + a.count) { try a.queue.put(i) }
    }

    /// Gets integers until a -1, then puts its count and sum on `results` (one item: consumers
    /// report at the same time).
    static let consumer = EntryPoint<QueueArgs>("queue-consumer") { a in
        var n = 0, sum = 0
        while true {
            let v = try a.queue.get(timeout: .seconds(60))
            if v == -1 { break }
            n += 1
            sum &+= v
        }
        try a.results!.put(Tally(count: n, sum: sum))
    }

    /// Gets jobs, reports each doubled, and marks it done; stops at a -1 (also marked done).
    static let worker = EntryPoint<JoinArgs>("queue-join-worker") { a in
        while true {
            let v = try a.jobs.get(timeout: .seconds(60))
            if v >= 0 { try a.results.put(v * 2) }
            try a.jobs.taskDone()
            if v < 0 { break }
        }
    }

    /// Puts one big message whose bytes are a known pattern.
    static let bigProducer = EntryPoint<BytesArgs>("queue-big-producer") { a in
        try a.queue.put((0..<a.size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
    }

    /// Says it is ready, then either holds the queue's internal lock or waits in `get`, forever.
    static let hog = EntryPoint<HogArgs>("queue-hog") { a in
        if a.hold { a.queue.holdInternalLockForever() }
        // Readiness goes through a queue: its send is committed before the parent can see it (a
        // Connection's is committed after its write, so a kill right after could lose the event).
        try a.ready.put(a.hold ? "holding" : "waiting")
        if !a.hold { _ = try a.queue.get() }
        sleep(600)
    }

    static let entries: [any AnyEntryPoint] = [noteProducer, producer, consumer, worker, bigProducer, hog] + SharedArrays.entries

    static func start<A>(_ entry: EntryPoint<A>, _ args: A, _ m: StartMethod, name: String, pass: [any PassableToChild]) throws -> ChildProcess {
        var o = ChildOptions(name: name, method: m)
        for p in pass { o.pass(p) }
        let c = try ChildProcess(entry: entry, arguments: args, options: o)
        try c.start()
        return c
    }

    static func run(_ scenario: String, _ m: StartMethod, _ count: Int) throws {
        switch scenario {
        case "queue-order": try order(m, count)
        case "queue-many": try many(m, count)
        case "queue-bounded": try bounded(m)
        case "queue-joinable": try joinable(m, count)
        case "queue-producer-exits": try producerExits(m, count)
        case "queue-big": try big(m, count)
        case "queue-killed": try killed(m)
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }

    /// One producer child; the parent gets everything in order, with its content.
    static func order(_ m: StartMethod, _ count: Int) throws {
        let notes = try Queue<Note>(), ints = try Queue<Int>()
        let c = try start(noteProducer, NoteArgs(notes: notes, ints: ints, count: count), m, name: "producer", pass: [notes, ints])
        var ok = true
        for i in 0..<count {
            let note = try notes.get(timeout: .seconds(30)), int = try ints.get(timeout: .seconds(30))
            ok = ok && note == Note(n: i, text: "note \(i) é") && int == i * 7
        }
        print("status \(try c.join(timeout: nil)!)")
        print(ok ? "in order" : "out of order")
        print("left \(notes.qsize + ints.qsize)")
    }

    /// 3 producers x 3 consumers, `count` items each producer; the sentinels go last.
    static func many(_ m: StartMethod, _ count: Int) throws {
        let queue = try Queue<Int>(maxSize: 64), results = try Queue<Tally>()
        var consumers: [ChildProcess] = [], producers: [ChildProcess] = []
        for i in 0..<3 {
            consumers.append(try start(consumer, QueueArgs(queue: queue, from: 0, count: 0, results: results), m,
                                       name: "consumer\(i)", pass: [queue, results]))
        }
        for i in 0..<3 {
            producers.append(try start(producer, QueueArgs(queue: queue, from: i * 1_000_000, count: count, results: nil), m,
                                       name: "producer\(i)", pass: [queue]))
        }
        for p in producers { _ = try p.join(timeout: nil) }
        for _ in 0..<3 { try queue.put(-1) }
        var n = 0, sum = 0
        for _ in 0..<3 {
            let t = try results.get(timeout: .seconds(60))
            n += t.count
            sum &+= t.sum
        }
        for c in consumers { _ = try c.join(timeout: nil) }
        var expected = 0
        for i in 0..<3 { for v in (i * 1_000_000)..<(i * 1_000_000 + count) { expected &+= v } }
        print("received \(n) of \(3 * count)")
        print(sum == expected ? "checksum ok" : "checksum \(sum) != \(expected)")
        print("left \(queue.qsize)")
    }

    /// Full and Empty, with and without timeouts, and a producer waiting for room in a child.
    static func bounded(_ m: StartMethod) throws {
        let q = try Queue<Int>(maxSize: 2)
        func outcome(_ body: () throws -> Void) -> String {
            do { try body(); return "ok" } catch let e as ChannelError { return "\(e.code)" } catch { return "\(error)" }
        }
        print("put 1: \(outcome { try q.putNowait(1) })")
        print("put 2: \(outcome { try q.put(2, timeout: .zero) })")
        print("full: \(q.isFull) size \(q.qsize)")
        print("put 3 nowait: \(outcome { try q.putNowait(3) })")
        print("put 3 in 50 ms: \(outcome { try q.put(3, timeout: .milliseconds(50)) })")
        print("get: \(try q.get()) \(try q.getNowait())")
        print("empty: \(q.isEmpty)")
        print("get nowait: \(outcome { _ = try q.getNowait() })")
        print("get in 50 ms: \(outcome { _ = try q.get(timeout: .milliseconds(50)) })")
        // A child puts 5 items into the 2-item queue: it waits for room as the parent gets.
        let c = try start(producer, QueueArgs(queue: q, from: 10, count: 5, results: nil), m, name: "producer", pass: [q])
        var got: [Int] = []
        for _ in 0..<5 { got.append(try q.get(timeout: .seconds(30))) }
        print("got \(got)")
        print("status \(try c.join(timeout: nil)!)")
        q.close()
        print("after close: \(outcome { try q.putNowait(1) })")
    }

    /// Two workers; `join` returns once every job had its taskDone; one taskDone too many fails.
    static func joinable(_ m: StartMethod, _ count: Int) throws {
        let jobs = try JoinableQueue<Int>(), results = try SimpleQueue<Int>()
        var workers: [ChildProcess] = []
        for i in 0..<2 {
            workers.append(try start(worker, JoinArgs(jobs: jobs, results: results), m, name: "worker\(i)", pass: [jobs, results]))
        }
        for i in 0..<count { try jobs.put(i) }
        let joined = try jobs.join(timeout: .seconds(60))
        print("joined \(joined), unfinished \(jobs.unfinishedTasks)")
        var sum = 0
        for _ in 0..<count { sum += try results.get() }
        print("sum \(sum)")
        for _ in 0..<2 { try jobs.put(-1) }
        for w in workers { print("status \(try w.join(timeout: nil)!)") }
        do { try jobs.taskDone(); print("extra taskDone accepted") } catch { print("extra taskDone: \(error.code)") }
    }

    /// The producer exits right after its last put; every item is still there.
    static func producerExits(_ m: StartMethod, _ count: Int) throws {
        let q = try Queue<Int>()
        let c = try start(producer, QueueArgs(queue: q, from: 0, count: count, results: nil), m, name: "producer", pass: [q])
        print("status \(try c.join(timeout: nil)!)")
        var got: [Int] = []
        while let v = try? q.getNowait() { got.append(v) }
        print(got == Array(0..<count) ? "all \(count) there" : "got \(got.count): \(got.prefix(10))")
    }

    /// A message of `size` bytes through a ring twice its size; one larger than its ring fails.
    static func big(_ m: StartMethod, _ size: Int) throws {
        let q = try Queue<[UInt8]>(capacity: 2 * size)
        let c = try start(bigProducer, BytesArgs(queue: q, size: size), m, name: "producer", pass: [q])
        let got = try q.get(timeout: .seconds(60))
        let ok = got.count == size && got.indices.allSatisfy { got[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        print("big \(ok ? "intact" : "damaged") \(got.count)")
        print("status \(try c.join(timeout: nil)!)")
        do { try q.put([UInt8](repeating: 1, count: 2 * size)); print("oversized accepted") } catch { print("oversized: \(error.code)") }
    }

    /// One child holds the queue's internal lock, another waits in get; both are SIGKILLed; the
    /// queue still works for the parent (the lock is recovered).
    static func killed(_ m: StartMethod) throws {
        let q = try Queue<Int>(), ready = try Queue<String>()
        var children: [ChildProcess] = []
        for hold in [false, true] {
            children.append(try start(hog, HogArgs(queue: q, ready: ready, hold: hold), m, name: hold ? "holder" : "waiter", pass: [q, ready]))
            print("child \(try ready.get(timeout: .seconds(30)))")
        }
        for c in children {
            try c.kill()
            print("status \(try c.join(timeout: nil)!)")
        }
        try q.put(42, timeout: .seconds(5))
        print("after the kills: got \(try q.get(timeout: .seconds(5))), left \(q.qsize)")
    }
}
