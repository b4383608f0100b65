// Pool scenarios for the usage Python users port (issue 10 item 12): each prints facts, one per line.
import Forkline

/// A value that cannot be encoded when `x` is not finite: its `encode(to:)` throws, whatever the
/// encoder (the binary codec writes NaN; JSONEncoder would throw on it by itself).
struct PoolSample: Codable, Sendable {
    var x: Double
    struct NotFinite: Error {}
    func encode(to encoder: any Encoder) throws {
        guard x.isFinite else { throw NotFinite() }
        var c = encoder.singleValueContainer()
        try c.encode(x)
    }
    init(x: Double) { self.x = x }
    init(from decoder: any Decoder) throws { x = try decoder.singleValueContainer().decode(Double.self) }
}

enum PoolUsageScenarios {
    static let names: Set<String> = ["pool-imap-encoding"]
    static let sampleX = PoolFunction<PoolSample, Double>("pool-sample-x") { $0.x }

    static func run(_ scenario: String, _ m: StartMethod, _ count: Int) async throws {
        switch scenario {
        case "pool-imap-encoding": try await imapEncoding(m, chunksize: max(1, count))
        default: break
        }
    }

    /// imap over inputs one of which cannot be encoded: the outputs before its chunk, then the
    /// error at its place, then the rest; map throws `encoding`; the pool goes on.
    static func imapEncoding(_ m: StartMethod, chunksize: Int) async throws {
        let inputs = [1.0, 2.0, .nan, 4.0, 5.0].map(PoolSample.init)
        try await withPool(workers: 2, method: m) { pool in
            var seen: [String] = []
            var it = try pool.imap(sampleX, inputs, chunksize: chunksize).makeAsyncIterator()
            while true {
                do {
                    guard let y = try await it.next() else { break }
                    seen.append("\(y)")
                } catch let e as PoolError { seen.append("\(e.code)") }
            }
            print("imap \(seen.joined(separator: " "))")
            do { print("map \(try await pool.map(sampleX, inputs, chunksize: chunksize))") } catch let e as PoolError { print("map threw \(e.code)") }
            print("after \(try await pool.apply(sampleX, PoolSample(x: 7)))")
        }
    }
}
