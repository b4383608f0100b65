// `forkline-fixture hang-* METHOD DIR`: programs that hang on purpose, traced into DIR (started
// in code, so a test can run them untraced by the environment and still read their trace while
// they hang). Each prints one line of pids (the parent's first) once every process is started,
// then blocks forever; the test takes `replay status`, then kills the whole tree.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct LockOrderArgs: Codable, Sendable { var first: Lock; var second: Lock; var both: Barrier }
struct ReceiverArgs: Codable, Sendable { var conn: Connection; var times: Int }
struct ProducerArgs: Codable, Sendable { var queue: Queue<Int>; var count: Int }

enum Hangs {
    /// Takes `first`, waits until the other taker holds its own first lock, then takes `second`.
    static let taker = EntryPoint<LockOrderArgs>("hang-taker") { a in
        _ = a.first.acquire()
        _ = try a.both.wait()
        _ = a.second.acquire()
    }

    /// Receives `times` messages (or until the end), then returns.
    static let receiver = EntryPoint<ReceiverArgs>("hang-receiver") { a in
        for _ in 0..<a.times { guard try a.conn.receive(String.self) != nil else { return } }
    }

    /// Puts `count` items, then exits.
    static let producer = EntryPoint<ProducerArgs>("hang-producer") { a in
        for i in 0..<a.count { try a.queue.put(i) }
    }

    /// Gets items forever.
    static let consumer = EntryPoint<ProducerArgs>("hang-consumer") { a in
        while true { _ = try a.queue.get() }
    }

    static let entries: [any AnyEntryPoint] = [taker, receiver, producer, consumer]

    static func start<A>(_ entry: EntryPoint<A>, _ args: A, _ m: StartMethod, _ name: String, pass: [any PassableToChild]) throws -> ChildProcess {
        try SyncScenarios.start(entry, args, m, name: name, pass: pass)
    }

    static func announce(_ children: [ChildProcess]) {
        print(([getpid()] + children.map { $0.pid ?? 0 }).map(String.init).joined(separator: " "))
        fflush(nil)
    }

    static func run(_ scenario: String, method m: StartMethod) throws {
        let args = Array(CommandLine.arguments.dropFirst())
        guard args.count > 2 else {
            writeStderrLine("usage: forkline-fixture \(scenario) METHOD TRACE_DIR")
            exit(2)
        }
        try Tracer.start(directory: args[2])
        switch scenario {
        case "hang-lock-order":
            // Each taker holds one lock and waits for the other's: a wait-for cycle.
            let a = try Lock(), b = try Lock(), both = try Barrier(parties: 2)
            let one = try start(taker, LockOrderArgs(first: a, second: b, both: both), m, "taker-ab", pass: [a, b, both])
            let two = try start(taker, LockOrderArgs(first: b, second: a, both: both), m, "taker-ba", pass: [a, b, both])
            announce([one, two])
            _ = try one.join(timeout: nil)
            _ = try two.join(timeout: nil)
        case "hang-pipe-cycle":
            // Both ends of a duplex connection receive first: each waits for the other to send.
            let (mine, theirs) = try Connection.pipe()
            let peer = try start(receiver, ReceiverArgs(conn: theirs, times: 1), m, "receiver", pass: [theirs])
            announce([peer])
            _ = try mine.receive(String.self)
            _ = try peer.join(timeout: nil)
        case "hang-queue-orphaned":
            // Two producers put 2 items each and exit; the consumer waits for a fifth forever.
            let q = try Queue<Int>()
            let producers = try (0..<2).map { i in try start(producer, ProducerArgs(queue: q, count: 2), m, "producer-\(i)", pass: [q]) }
            for p in producers { _ = try p.join(timeout: nil) }
            let eater = try start(consumer, ProducerArgs(queue: q, count: 0), m, "consumer", pass: [q])
            announce([eater])
            _ = try eater.join(timeout: nil)
        case "hang-join-cycle":
            // The parent sends one message, then joins a child that waits for a second one.
            let (readEnd, writeEnd) = try Connection.pipe(duplex: false)
            try writeEnd.send("first")
            let child = try start(receiver, ReceiverArgs(conn: readEnd, times: 2), m, "waits-for-parent", pass: [readEnd])
            announce([child])
            _ = try child.join(timeout: nil)
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }
}
