// Channel figures (issue 3): small-message round trip over a Connection beside a C socketpair
// ping-pong and CPython's Pipe; queue throughput beside a C shared-memory ring and CPython's
// multiprocessing.Queue; the cost of Connection's encodings, in one process.
import CForkline
import Forkline
import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

enum ChannelBench {
    /// `forkline-bench --channels`: only these figures, then the encoding costs.
    static func main(quick: Bool, json: Bool) throws {
        if getenv("FORKLINE_BENCH_ENCODINGS") != nil { print(try encodings()); return }
        if getenv("FORKLINE_BENCH_QUEUE_LOOP") != nil {
            // Wall time and this thread's CPU time: on a loaded machine the wall time counts the
            // time other processes had the CPU; the CPU time is the queue's own cost.
            func cpu() -> Double { var t = timespec(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return Double(t.tv_sec) * 1e9 + Double(t.tv_nsec) }
            let q = try Queue<Int>()
            let t0 = fl_monotonic_ns(), c0 = cpu()
            for i in 0..<2_000_000 { try q.putNowait(i); _ = try q.getNowait() }
            print("Queue<Int> put+get: \(Double(fl_monotonic_ns() - t0) / 2e6) ns wall, \((cpu() - c0) / 2e6) ns CPU")
            // The two 3-field structs of `--queue`: plain data, and with a String (binary codec).
            let plain = try Queue<BenchReading>(), named = try Queue<BenchNamed>()
            let c2 = cpu()
            for i in 0..<500_000 { try plain.putNowait(BenchReading(id: i, value: 2.5, flags: 7)); _ = try plain.getNowait() }
            let c3 = cpu()
            for i in 0..<500_000 { try named.putNowait(BenchNamed(id: i, value: 2.5, name: "seven")); _ = try named.getNowait() }
            print("Queue<3-field plain struct> put+get: \((c3 - c2) / 5e5) ns CPU; with a String (binary codec): \((cpu() - c3) / 5e5) ns CPU")
            try QueueStructBench.loop(cpu)
            // The same traced (into /dev/shm): what tracing adds to a put+get (two events).
            let dir = "/dev/shm/forkline-bench-loop-\(getpid())"
            try Tracer.start(directory: dir)
            let t1 = fl_monotonic_ns(), c1 = cpu()
            for i in 0..<200_000 { try q.putNowait(i); _ = try q.getNowait() }
            print("Queue<Int> put+get traced: \(Double(fl_monotonic_ns() - t1) / 2e5) ns wall, \((cpu() - c1) / 2e5) ns CPU")
            Tracer.stop()
            _ = system("rm -rf \(dir)")
            return
        }
        let f = try figures(quick: quick)
        print(json ? Report.json(f) : Report.table(f))
        if !json { print("\n" + (try encodings())) }
    }

    static func figures(quick: Bool) throws -> [Figure] {
        let rounds = quick ? 3 : 7
        let trips = quick ? 2_000 : 5_000
        let items = quick ? 200_000 : 1_000_000
        var out: [Figure] = []
        let python = Python.find()

        func progress(_ s: String) { let line = "channels: \(s)\n"; _ = line.withCString { write(2, $0, strlen($0)) } }
        // Round trips: n per round, in us per round trip.
        progress("C ping-pong")
        let cPing = Shell.runC(C.pingPong, ["\(trips)", "\(rounds)"]) ?? []
        var json: [Double] = [], raw: [Double] = []
        progress("Connection round trips")
        for _ in 0..<rounds {
            json.append(try roundTrip(trips, raw: false))
            raw.append(try roundTrip(trips, raw: true))
        }
        progress("CPython Pipe")
        let pyPing = python.flatMap { Python.numbers($0, pythonPipe(trips, rounds)) }
        out.append(Figure(name: "round trip, Connection, Int", unit: "us", ours: json, peerName: "C socketpair ping-pong", peer: cPing, python: pyPing))
        out.append(Figure(name: "round trip, Connection, 8 raw bytes", unit: "us", ours: raw, peerName: "C socketpair ping-pong", peer: cPing, python: pyPing))
        if let pinned = try sameCPURoundTrips(trips, rounds: rounds) { out.append(pinned) }

        // One-way bandwidth of 1 MiB messages, in MiB/s.
        let megs = quick ? 50 : 200
        progress("C 1 MiB messages")
        let cBand = Shell.runC(C.bandwidth, ["\(megs)", "\(rounds)"]) ?? []
        progress("Connection 1 MiB messages")
        let band = try (0..<rounds).map { _ in try bandwidth(megs) }
        progress("CPython Pipe 1 MiB messages")
        let pyBand = python.flatMap { Python.numbers($0, pythonBandwidth(megs, rounds)) }
        out.append(Figure(name: "one way, Connection, 1 MiB messages", unit: "MiB/s", ours: band, peerName: "C socketpair, 1 MiB writes", peer: cBand, python: pyBand))

        // Queue throughput: QueueBench (Int 1x1 and 2x2, two structs).
        out += try QueueBench.figures(quick: quick)
        return out
    }

    /// Encoding costs in one process, ns per value (printed; docs/channels.md).
    static func encodings() throws -> String {
        struct Small: Codable, Sendable { var id: Int; var value: Double }
        struct Named: Codable, Sendable { var id: Int; var name: String }
        let n = 100_000
        func ns(_ body: () throws -> Void) rethrows -> Double {
            let t0 = fl_monotonic_ns()
            for _ in 0..<n { try body() }
            return Double(fl_monotonic_ns() - t0) / Double(n)
        }
        let enc = JSONEncoder(), dec = JSONDecoder()
        let jsonInt = try ns { _ = try dec.decode(Int.self, from: try enc.encode(42)) }
        let jsonSmall = try ns { _ = try dec.decode(Small.self, from: try enc.encode(Small(id: 1, value: 2.5))) }
        let jsonNamed = try ns { _ = try dec.decode(Named.self, from: try enc.encode(Named(id: 1, name: "seven"))) }
        let benc = BinaryEncoder(), bdec = BinaryDecoder()
        let binNamed = try ns { _ = try bdec.decode(Named.self, from: try benc.encode(Named(id: 1, name: "seven"))) }
        let ints = try Queue<Int>(), smalls = try Queue<Small>(), nameds = try Queue<Named>(), strings = try Queue<String>()
        let qInt = try ns { try ints.putNowait(42); _ = try ints.getNowait() }
        let qSmall = try ns { try smalls.putNowait(Small(id: 1, value: 2.5)); _ = try smalls.getNowait() }
        let qNamed = try ns { try nameds.putNowait(Named(id: 1, name: "seven")); _ = try nameds.getNowait() }
        let qString = try ns { try strings.putNowait("seven"); _ = try strings.getNowait() }
        let (a, b) = try Connection.pipe()
        let cJSON = try ns { try a.send(42); _ = try b.receive(Int.self) }
        let cRaw = try ns { try a.sendBytes([1, 2, 3, 4, 5, 6, 7, 8]); _ = try b.receiveBytes() }
        return """
        | operation, one process | ns per value |
        |---|---|
        | JSONEncoder + JSONDecoder, Int | \(Report.fmt(jsonInt)) |
        | JSONEncoder + JSONDecoder, struct {Int, Double} | \(Report.fmt(jsonSmall)) |
        | JSONEncoder + JSONDecoder, struct {Int, String} | \(Report.fmt(jsonNamed)) |
        | BinaryEncoder + BinaryDecoder, struct {Int, String} | \(Report.fmt(binNamed)) |
        | Queue<Int> putNowait + getNowait (plain bytes) | \(Report.fmt(qInt)) |
        | Queue<struct {Int, Double}> putNowait + getNowait (plain bytes) | \(Report.fmt(qSmall)) |
        | Queue<String> putNowait + getNowait (UTF-8) | \(Report.fmt(qString)) |
        | Queue<struct {Int, String}> putNowait + getNowait (binary codec) | \(Report.fmt(qNamed)) |
        | Connection send + receive, Int (plain bytes) | \(Report.fmt(cJSON)) |
        | Connection sendBytes + receiveBytes, 8 bytes | \(Report.fmt(cRaw)) |
        """
    }

    /// The Int round trip and the C ping-pong again with both processes of each on the CPU
    /// this thread runs on, alternated: what the code costs without a wake-up crossing CPUs. On
    /// a VM the unpinned rows follow where the scheduler puts the two processes (an idle vCPU's
    /// wake-up is the hypervisor's): their rounds are bimodal (docs/benchmarks.md). nil when
    /// pinning failed.
    static func sameCPURoundTrips(_ trips: Int, rounds: Int) throws -> Figure? {
        guard fl_pin_to_this_cpu() >= 0 else { return nil }
        defer { _ = fl_unpin() }
        var ours: [Double] = [], peer: [Double] = []
        for _ in 0..<rounds {
            ours.append(try roundTrip(trips, raw: false))
            peer += Shell.runC(C.pingPong, ["\(trips)", "1"]) ?? []
        }
        return Figure(name: "round trip, Connection, Int, both on one CPU", unit: "us", ours: ours,
                      peerName: "C socketpair ping-pong, both on one CPU", peer: peer)
    }

    /// Mean round trip over a duplex Connection to a fork child that echoes, in us.
    static func roundTrip(_ n: Int, raw: Bool) throws -> Double {
        let (mine, theirs) = try Connection.pipe()
        var o = ChildOptions(method: .fork)
        o.pass(theirs)
        let child = ChildProcess(options: o) {
            if raw {
                while let b = try theirs.receiveBytes() { try theirs.sendBytes(b) }
            } else {
                while let v = try theirs.receive(Int.self) { try theirs.send(v) }
            }
        }
        try child.start()
        theirs.close()
        let bytes: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]
        // Warm-up, then the timed trips.
        for i in 0..<100 { if raw { try mine.sendBytes(bytes); _ = try mine.receiveBytes() } else { try mine.send(i); _ = try mine.receive(Int.self) } }
        let t0 = fl_monotonic_ns()
        for i in 0..<n { if raw { try mine.sendBytes(bytes); _ = try mine.receiveBytes() } else { try mine.send(i); _ = try mine.receive(Int.self) } }
        let t = Double(fl_monotonic_ns() - t0) / Double(n) / 1000
        mine.close()
        _ = try child.join(timeout: nil)
        return t
    }

    /// 1 MiB messages (`sendBytes`) from a fork child to this process, in MiB/s.
    static func bandwidth(_ n: Int) throws -> Double {
        let (mine, theirs) = try Connection.pipe()
        var o = ChildOptions(method: .fork)
        o.pass(theirs)
        let child = ChildProcess(options: o) {
            let message = [UInt8](repeating: 7, count: 1 << 20)
            for _ in 0..<n { try theirs.sendBytes(message) }
        }
        try child.start()
        theirs.close()
        let t0 = fl_monotonic_ns()
        var got = 0
        while let m = try mine.receiveBytes() {
            precondition(m.count == 1 << 20, "bandwidth benchmark: a message of \(m.count) bytes")
            got += 1
        }
        let t = Double(fl_monotonic_ns() - t0) / 1e9
        mine.close()
        _ = try child.join(timeout: nil)
        precondition(got == n, "bandwidth benchmark lost messages: \(got) of \(n)")
        return Double(n) / t
    }

    /// Items per second through a Queue<Int> from `producers` fork children to `consumers`
    /// (the parent when 1, else fork children), in millions; timed from the first item got.
    static func queueThroughput(_ n: Int, producers: Int, consumers: Int) throws -> Double {
        let q = try Queue<Int>(maxSize: 0, capacity: 1 << 20), done = try Queue<Int>()
        var o = ChildOptions(method: .fork)
        o.pass(q, done)
        let per = n / producers
        var children: [ChildProcess] = []
        for _ in 0..<producers {
            children.append(ChildProcess(options: o) { for i in 0..<per { try q.put(i) } })
        }
        if consumers == 1 {
            for c in children { try c.start() }
            _ = try q.get()
            let t0 = fl_monotonic_ns()
            for _ in 1..<(per * producers) { _ = try q.get() }
            let t = Double(fl_monotonic_ns() - t0)
            for c in children { _ = try c.join(timeout: nil) }
            return Double(per * producers - 1) / t * 1000
        }
        for _ in 0..<consumers {
            children.append(ChildProcess(options: o) {
                var got = 0
                while try q.get() >= 0 { got += 1 }
                try done.put(got)
            })
        }
        let t0 = fl_monotonic_ns()
        for c in children { try c.start() }
        for c in children.prefix(producers) { _ = try c.join(timeout: nil) }
        for _ in 0..<consumers { try q.put(-1) }
        var total = 0
        for _ in 0..<consumers { total += try done.get() }
        let t = Double(fl_monotonic_ns() - t0)
        for c in children.dropFirst(producers) { _ = try c.join(timeout: nil) }
        precondition(total == per * producers, "queue benchmark lost items: \(total)")
        return Double(total) / t * 1000
    }

    static func pythonPipe(_ n: Int, _ rounds: Int) -> String {
        """
        import multiprocessing as mp, time
        def echo(c):
            while (v := c.recv()) is not None: c.send(v)
        if __name__ == '__main__':
            a, b = mp.Pipe()
            p = mp.get_context('fork').Process(target=echo, args=(b,)); p.start(); b.close()
            for i in range(100): a.send(i); a.recv()
            out = []
            for r in range(\(rounds)):
                t = time.perf_counter()
                for i in range(\(n)): a.send(i); a.recv()
                out.append((time.perf_counter() - t) / \(n) * 1e6)
            a.send(None); p.join()
            print(' '.join(str(x) for x in out))
        """
    }

    static func pythonBandwidth(_ n: Int, _ rounds: Int) -> String {
        """
        import multiprocessing as mp, time
        def send(c, n):
            m = bytes([7]) * (1 << 20)
            for i in range(n): c.send_bytes(m)
            c.close()
        if __name__ == '__main__':
            ctx = mp.get_context('fork')
            out = []
            for r in range(\(rounds)):
                a, b = ctx.Pipe(duplex=False)
                p = ctx.Process(target=send, args=(b, \(n))); p.start(); b.close()
                t = time.perf_counter()
                for i in range(\(n)): assert len(a.recv_bytes()) == 1 << 20
                out.append(\(n) / (time.perf_counter() - t))
                p.join(); a.close()
            print(' '.join(str(x) for x in out))
        """
    }
}
