// Pool maps over each fixed-width scalar type (raw one-word chunks, ScalarChunks): every value
// back in order, through automatic chunks and chunksize 1; a throwing item; a worker killed
// mid-chunk. Each prints facts, one per line; the trace is the rest.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

/// A type's pool function (a bijection, so a lost, doubled or misplaced value shows) and the
/// inputs to map: its extremes and a spread of bit patterns.
struct ScalarCase<T: Codable & Sendable & Equatable>: Sendable {
    let function: PoolFunction<T, T>
    let make: @Sendable (Int) -> T
    let apply: @Sendable (T) -> T

    init(_ name: String, make: @escaping @Sendable (Int) -> T, _ apply: @escaping @Sendable (T) -> T) {
        function = PoolFunction(name, apply)
        self.make = make
        self.apply = apply
    }

    func inputs(_ n: Int) -> [T] { (0..<n).map { make((($0 &* 0x1E37_79B9_7F4A_7C15) >> 3) ^ $0) } }
}

func integerCase<T: FixedWidthInteger & Codable & Sendable>(_: T.Type) -> ScalarCase<T> {
    ScalarCase("poolscalar-\(T.self)", make: { i in i % 5 == 1 ? .max : i % 5 == 2 ? .min : T(truncatingIfNeeded: i) }) { ~$0 }
}

enum PoolScalarScenarios {
    static let int = integerCase(Int.self), uint = integerCase(UInt.self)
    static let int64 = integerCase(Int64.self), uint64 = integerCase(UInt64.self)
    static let int32 = integerCase(Int32.self), uint32 = integerCase(UInt32.self)
    static let int16 = integerCase(Int16.self), uint16 = integerCase(UInt16.self)
    static let int8 = integerCase(Int8.self), uint8 = integerCase(UInt8.self)
    static let double = ScalarCase<Double>("poolscalar-Double", make: { Double($0) * -1.5e300 / 7 }) { -$0 / 3 }
    static let float = ScalarCase<Float>("poolscalar-Float", make: { Float($0) * 0.25 - 3 }) { $0 * 2 + 1 }
    static let bool = ScalarCase<Bool>("poolscalar-Bool", make: { $0 % 3 == 0 }) { !$0 }
    /// The service row's shape: `Int` in, `UInt64` out.
    static let widen = PoolFunction<Int, UInt64>("poolscalar-widen") { UInt64(bitPattern: Int64($0)) &* 3 }
    /// Throws at multiples of 5.
    static let fives = PoolFunction<Int, UInt64>("poolscalar-fives") { x in
        if x % 5 == 0 { throw PoolBoom(n: x) }
        return UInt64(x)
    }
    /// SIGKILLs its worker at 5.
    static let killAt5 = PoolFunction<Int, UInt64>("poolscalar-kill-at-5") { x in
        if x == 5 { kill(getpid(), SIGKILL) }
        return UInt64(x) + 100
    }

    static let entries: [any AnyEntryPoint] = [
        int.function, uint.function, int64.function, uint64.function, int32.function, uint32.function,
        int16.function, uint16.function, int8.function, uint8.function, double.function, float.function,
        bool.function, widen, fives, killAt5,
    ]

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        switch scenario {
        case "poolscalar-map": try await maps(m)
        case "poolscalar-throw": try await throwing(m)
        case "poolscalar-kill": try await killed(m)
        default: print("unknown scenario \(scenario)")
        }
    }

    /// Sizes 0, 1, odd and large, automatic chunks and chunksize 1: one line per type.
    static func maps(_ m: StartMethod) async throws {
        try await withPool(workers: 2, method: m) { pool in
            print(try await check(int, pool), try await check(uint, pool), try await check(int64, pool), try await check(uint64, pool))
            print(try await check(int32, pool), try await check(uint32, pool), try await check(int16, pool), try await check(uint16, pool))
            print(try await check(int8, pool), try await check(uint8, pool), try await check(double, pool), try await check(float, pool))
            print(try await check(bool, pool))
            let inputs = Array(-3..<2_001)
            let widened = try await pool.map(widen, inputs)
            let one = try await pool.map(widen, inputs, chunksize: 1)
            let expected = inputs.map { UInt64(bitPattern: Int64($0)) &* 3 }
            // Automatic chunks of 75,000 capped to what a ring record holds: 10 tasks, not 8.
            let many = Array(-7..<599_993)
            let large = try await pool.map(widen, many)
            let right = large == many.map { UInt64(bitPattern: Int64($0)) &* 3 }
            print("widen \(widened == expected && one == expected && right ? "ok" : "wrong")")
        }
    }

    static func check<T: Codable & Sendable & Equatable>(_ c: ScalarCase<T>, _ pool: Pool) async throws -> String {
        var wrong: [String] = []
        for n in [0, 1, 7, 5_003] {
            let inputs = c.inputs(n)
            let expected = inputs.map(c.apply)
            for chunksize in [nil, 1] as [Int?] where n < 5_003 || chunksize == nil || T.self == UInt64.self {
                if try await pool.map(c.function, inputs, chunksize: chunksize) != expected { wrong.append("n=\(n) chunksize=\(chunksize ?? 0)") }
            }
            var lazy: [T] = []
            for try await y in try pool.imap(c.function, inputs, chunksize: 3) { lazy.append(y) }
            if lazy != expected { wrong.append("imap n=\(n)") }
        }
        if try await pool.apply(c.function, c.make(1)) != c.apply(c.make(1)) { wrong.append("apply") }
        return "\(T.self) " + (wrong.isEmpty ? "ok" : wrong.joined(separator: ","))
    }

    /// A throwing item: the map throws the first in input order; imap yields every value and
    /// each error at its place.
    static func throwing(_ m: StartMethod) async throws {
        try await withPool(workers: 2, method: m) { pool in
            for chunksize in [nil, 1, 4] as [Int?] {
                do {
                    let out = try await pool.map(fives, Array(1..<23), chunksize: chunksize)
                    print("map returned \(out.count)")
                } catch let e as PoolError {
                    print("map \(chunksize ?? 0) threw \(e.code) \(e.errorDescription ?? "-")")
                }
            }
            var seen: [String] = []
            var it = try pool.imap(fives, Array(3..<12), chunksize: 4).makeAsyncIterator()
            for _ in 3..<12 {
                do { seen.append("\(try await it.next() ?? 0)") } catch let e as PoolError { seen.append("\(e.code)") }
            }
            print("imap \(seen.joined(separator: " "))")
            print("after \(try await pool.map(widen, [1, 2]))")
        }
    }

    /// A worker killed in the middle of a chunk: that chunk's items fail with `workerDied`, the
    /// other chunk's values come back, and the pool goes on.
    static func killed(_ m: StartMethod) async throws {
        try await withPool(workers: 2, method: m) { pool in
            var seen: [String] = []
            var it = try pool.imap(killAt5, Array(0..<8), chunksize: 4).makeAsyncIterator()
            for _ in 0..<8 {
                do { seen.append("\(try await it.next() ?? 0)") } catch let e as PoolError { seen.append("\(e.code)") }
            }
            print("imap \(seen.joined(separator: " "))")
            do {
                _ = try await pool.map(killAt5, Array(0..<10))
                print("map returned")
            } catch let e as PoolError {
                print("map threw \(e.code)")
            }
            print("after \(try await pool.map(widen, [1, 2, 3]))")
        }
    }
}
