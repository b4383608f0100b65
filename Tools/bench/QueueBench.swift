// Queue throughput (issue 14 item 2): Int 1x1 and 2x2, and two 3-field structs (plain data, and
// one with a String through the binary codec), each beside the C shared-memory SPSC ring and
// CPython's multiprocessing.Queue in the same run. `forkline-bench --queue` runs only these.
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// A 3-field struct of plain data: its bytes are the message (the codec's plain-data path).
struct BenchReading: Codable, Sendable { var id: Int; var value: Double; var flags: Int32 }
/// A 3-field struct with a String: through the binary codec.
struct BenchNamed: Codable, Sendable { var id: Int; var value: Double; var name: String }

enum QueueBench {
    static func main(quick: Bool, json: Bool, writeDocs: Bool) throws {
        if let pair = getenv("FORKLINE_BENCH_QUEUE_PAIR") { return try pairOnly(String(cString: pair)) }
        let f = try figures(quick: quick) + [try tracedAlternated(quick: quick)]
        print(json ? Report.json(f) : Report.table(f))
        // The queue's rows only: every other target says "not measured in this run".
        if writeDocs { Targets.writeDocs(f, quick: quick, only: "--queue") }
    }

    /// `FORKLINE_BENCH_QUEUE_PAIR=<rounds>[,<items>][,traced][,2x2][,pingpong] forkline-bench --queue`: only
    /// queue Int 1x1 (or 2x2; the judged rows' measurement, `ChannelBench.queueThroughput`), one
    /// figure a round: a small process to run under strace, perf or callgrind, nothing else in it;
    /// `pingpong`: us per round trip of one Int through two queues instead.
    static func pairOnly(_ spec: String) throws {
        let parts = spec.split(separator: ",")
        let rounds = parts.first.flatMap { Int($0) } ?? 1
        let items = parts.count > 1 ? Int(parts[1]) ?? 1_000_000 : 1_000_000
        let traced = parts.contains("traced"), pairs = parts.contains("2x2") ? 2 : 1
        let dir = "/dev/shm/forkline-bench-queue-\(getpid())"
        if parts.contains("pingpong") {
            // Round trips of one Int through two queues (a fork child answers each): the hand-off
            // latency, in us a round trip.
            for _ in 0..<rounds {
                let ping = try Queue<Int>(), pong = try Queue<Int>()
                var o = ChildOptions(method: .fork)
                o.pass(ping, pong)
                let n = min(items, 100_000)
                let child = ChildProcess(options: o) { for _ in 0..<n { try pong.put(try ping.get() + 1) } }
                try child.start()
                var v = 0
                let t0 = fl_monotonic_ns()
                for _ in 0..<n {
                    try ping.put(v)
                    v = try pong.get()
                }
                let us = Double(fl_monotonic_ns() - t0) / Double(n) / 1000
                _ = try child.join(timeout: nil)
                print((us * 1000).rounded() / 1000, terminator: " ")
            }
            return print()
        }
        for _ in 0..<rounds {
            if traced { try Tracer.start(directory: dir) }
            let f = try ChannelBench.queueThroughput(items, producers: pairs, consumers: pairs)
            if traced { Tracer.stop(); _ = system("rm -rf \(dir)") }
            print((f * 100).rounded() / 100, terminator: " ")
        }
        print()
    }

    /// Queue Int 1x1 traced (into /dev/shm) beside the same untraced, rounds alternated: the
    /// cost of tracing a queue without the drift between a run's start and its end.
    static func tracedAlternated(quick: Bool) throws -> Figure {
        let n = 200_000  // ~16 MB of trace a round (two events an item)
        var plain: [Double] = [], traced: [Double] = []
        let dir = "/dev/shm/forkline-bench-queue-\(getpid())"
        for _ in 0..<(quick ? 3 : 7) {
            plain.append(try ChannelBench.queueThroughput(n, producers: 1, consumers: 1))
            try Tracer.start(directory: dir)
            traced.append(try ChannelBench.queueThroughput(n, producers: 1, consumers: 1))
            Tracer.stop()
            _ = system("rm -rf \(dir)")
        }
        return Figure(name: "queue Int, 1 producer 1 consumer, traced (alternated)", unit: "M/s", ours: traced,
                      peerName: "untraced, alternated", peer: plain)
    }

    static func figures(quick: Bool) throws -> [Figure] {
        let rounds = quick ? 3 : 7
        let items = quick ? 200_000 : 1_000_000
        let pyItems = quick ? 50_000 : 200_000
        let python = Python.find()
        func progress(_ s: String) { let line = "queue: \(s)\n"; _ = line.withCString { write(2, $0, strlen($0)) } }
        progress("C ring")
        let cRing = Shell.runC(ChannelBench.C.ring, ["\(items * 10)", "\(rounds)"]) ?? []
        var q11: [Double] = [], q22: [Double] = [], plain: [Double] = [], named: [Double] = []
        progress("Queue 1x1, 2x2, structs")
        for _ in 0..<rounds {
            q11.append(try ChannelBench.queueThroughput(items, producers: 1, consumers: 1))
            q22.append(try ChannelBench.queueThroughput(items, producers: 2, consumers: 2))
            plain.append(try oneToOne(items) { BenchReading(id: $0, value: 2.5, flags: 7) })
            named.append(try oneToOne(items / 4) { BenchNamed(id: $0, value: 2.5, name: "seven") })
        }
        progress("CPython Queue")
        let py11 = python.flatMap { Python.numbers($0, pythonQueue(pyItems, 1, rounds, item: "i")) }
        let py22 = python.flatMap { Python.numbers($0, pythonQueue(pyItems, 2, rounds, item: "i")) }
        let pyPlain = python.flatMap { Python.numbers($0, pythonQueue(pyItems, 1, rounds, item: "(i, 2.5, 7)")) }
        let pyNamed = python.flatMap { Python.numbers($0, pythonQueue(pyItems, 1, rounds, item: "(i, 2.5, 'seven')")) }
        return [
            Figure(name: "queue Int, 1 producer 1 consumer", unit: "M/s", ours: q11, peerName: "C shared-memory SPSC ring", peer: cRing, python: py11),
            Figure(name: "queue Int, 2 producers 2 consumers", unit: "M/s", ours: q22, peerName: "C shared-memory SPSC ring (1x1)", peer: cRing, python: py22),
            Figure(name: "queue 3-field plain struct, 1x1", unit: "M/s", ours: plain, peerName: "C shared-memory SPSC ring (u64)", peer: cRing, python: pyPlain),
            Figure(name: "queue 3-field struct with a String, 1x1", unit: "M/s", ours: named, peerName: "C shared-memory SPSC ring (u64)", peer: cRing, python: pyNamed),
        ] + (try QueueStructBench.figures(quick: quick))
    }

    /// Items per second through a Queue<T> from a fork child to this process, in millions,
    /// timed from the first item got. Item `i` is `make(i)`.
    static func oneToOne<T: Codable & Sendable>(_ n: Int, _ make: @escaping @Sendable (Int) -> T) throws -> Double {
        let q = try Queue<T>(maxSize: 0, capacity: 1 << 20)
        var o = ChildOptions(method: .fork)
        o.pass(q)
        let child = ChildProcess(options: o) { for i in 0..<n { try q.put(make(i)) } }
        try child.start()
        _ = try q.get()
        let t0 = fl_monotonic_ns()
        for _ in 1..<n { _ = try q.get() }
        let t = Double(fl_monotonic_ns() - t0)
        _ = try child.join(timeout: nil)
        return Double(n - 1) / t * 1000
    }

    /// CPython's multiprocessing.Queue, the same shapes: prints M items/s per round.
    static func pythonQueue(_ n: Int, _ pairs: Int, _ rounds: Int, item: String) -> String {
        """
        import multiprocessing as mp, time
        def produce(q, n):
            for i in range(n): q.put(\(item))
        def consume(q, done):
            got = 0
            while q.get() != -1: got += 1
            done.put(got)
        if __name__ == '__main__':
            ctx = mp.get_context('fork')
            out = []
            for r in range(\(rounds)):
                q = ctx.Queue(); done = ctx.Queue()
                if \(pairs) == 1:
                    p = ctx.Process(target=produce, args=(q, \(n))); p.start()
                    q.get(); t = time.perf_counter()
                    for i in range(\(n) - 1): q.get()
                    out.append((\(n) - 1) / (time.perf_counter() - t) / 1e6); p.join()
                else:
                    t = time.perf_counter()
                    ps = [ctx.Process(target=produce, args=(q, \(n) // \(pairs))) for _ in range(\(pairs))]
                    cs = [ctx.Process(target=consume, args=(q, done)) for _ in range(\(pairs))]
                    for p in ps + cs: p.start()
                    for p in ps: p.join()
                    for _ in cs: q.put(-1)
                    total = sum(done.get() for _ in cs)
                    out.append(total / (time.perf_counter() - t) / 1e6)
                    for c in cs: c.join()
            print(' '.join(str(x) for x in out))
        """
    }
}
