// `forkline-fixture codec-binary-leak fork`: 100,000 round trips of the 3-field struct with a
// String through the codec and a Queue, `BinaryCodable` and `Codable`-only, in a process of its
// own (no test beside it allocating), and its peak resident memory before and after them
// (getrusage): a String kept per decode would add ~90 MB.
import Forkline
#if canImport(Glibc)
import Glibc
#endif

/// `BinaryOnlyOrder`'s fields, `Codable` only.
struct CodableOnlyOrder: Codable, Sendable, Equatable {
    var id: Int
    var price: Double
    var name: String
}

enum BinaryCodableLeak {
    /// The process's peak resident memory, KiB.
    static func peak() -> Int {
        var u = rusage()
        getrusage(RUSAGE_SELF.rawValue, &u)
        return u.ru_maxrss
    }

    static func run() throws {
        // 200 bytes of UTF-8: every decoded name is a String on the heap.
        let name = String(repeating: "é", count: 100)
        let binary = try Queue<BinaryOnlyOrder>(), codable = try Queue<CodableOnlyOrder>()
        var wrong = 0
        func codec(_ n: Int) throws {
            for i in 0..<n {
                let a = BinaryOnlyOrder(id: i, price: 1.5, name: name)
                if try BinaryDecoder().decode(BinaryOnlyOrder.self, from: BinaryEncoder().encode(a)) != a { wrong += 1 }
                let b = CodableOnlyOrder(id: i, price: 1.5, name: name)
                if try BinaryDecoder().decode(CodableOnlyOrder.self, from: BinaryEncoder().encode(b)) != b { wrong += 1 }
            }
        }
        func queues(_ n: Int) throws {
            for i in 0..<n {
                let a = BinaryOnlyOrder(id: i, price: 1.5, name: name)
                try binary.putNowait(a)
                if try binary.getNowait() != a { wrong += 1 }
                let b = CodableOnlyOrder(id: i, price: 1.5, name: name)
                try codable.putNowait(b)
                if try codable.getNowait() != b { wrong += 1 }
            }
        }
        // Each queue's ring in shared memory is touched page by page as it goes round: the
        // first 100,000 items go round it, so that its pages are resident before the count.
        try codec(1_000)
        try queues(100_000)
        let before = peak()
        try codec(100_000)
        try queues(100_000)
        let grown = peak() - before
        print("wrong \(wrong)")
        print("peak memory grew under 4 MiB \(grown < 4096)")
        if grown >= 4096 { print("peak memory grew \(grown) KiB") }
    }
}
