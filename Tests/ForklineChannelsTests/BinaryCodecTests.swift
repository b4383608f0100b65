import FoundationEssentials
import ForklineChannels
import Testing

/// A value of every shape Codable has: keyed, unkeyed, optional, nested, enums with payloads,
/// dictionaries, byte and number arrays, and a class that encodes its superclass.
struct Everything: Codable, Equatable, Sendable {
    enum Shape: Codable, Equatable, Sendable { case dot, circle(radius: Double), labelled(String, Int) }
    var int = -42
    var small: Int8 = -128
    var big: UInt64 = .max
    var flag = true
    var ratio: Float = 0.25
    var weight = 1e300
    var name = "héllo, wörld"
    var missing: Int? = nil
    var present: String? = "here"
    var shapes: [Shape] = [.dot, .circle(radius: 2.5), .labelled("x", 3)]
    var table: [String: [Int]] = ["a": [1, 2], "b": []]
    var bytes: [UInt8] = [0, 255, 7]
    var data = Data([1, 2, 3])
    var ints: [Int] = [.min, 0, .max]
    var doubles: [Double] = [0.5, -0.0, .infinity]
    var nested: [[String]] = [["a"], [], ["b", "c"]]
    var empty = Nothing()
}
struct Nothing: Codable, Equatable, Sendable {}

class Base: Codable { var id = 1 }
final class Derived: Base, @unchecked Sendable {
    var extra = "e"
    enum K: CodingKey { case extra }
    override init() { super.init() }
    required init(from decoder: any Decoder) throws {
        extra = try decoder.container(keyedBy: K.self).decode(String.self, forKey: .extra)
        try super.init(from: try decoder.container(keyedBy: K.self).superDecoder())
    }
    override func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: K.self)
        try c.encode(extra, forKey: .extra)
        try super.encode(to: c.superEncoder())
    }
}

/// The binary codec (docs/codec.md): values round-trip, bytes travel as bytes, damaged input is
/// a clear error and never a crash.
@Suite("Binary codec")
struct BinaryCodecTests {
    @Test("every Codable shape round-trips equal")
    func roundTrip() throws {
        var v = Everything()
        #expect(try BinaryDecoder().decode(Everything.self, from: BinaryEncoder().encode(v)) == v)
        v.missing = 5
        v.present = nil
        #expect(try BinaryDecoder().decode(Everything.self, from: BinaryEncoder().encode(v)) == v)
        let d = Derived()
        d.id = 9
        d.extra = "more"
        let back = try BinaryDecoder().decode(Derived.self, from: BinaryEncoder().encode(d))
        #expect(back.id == 9 && back.extra == "more")
        #expect(try BinaryDecoder().decode(Int?.self, from: BinaryEncoder().encode(Int?.none)) == nil)
    }

    @Test("fields are found by key in any order, as JSON finds them")
    func keyOrder() throws {
        struct AB: Codable { var a: Int; var b: String }
        struct BA: Codable, Equatable {
            var b: String; var a: Int
            enum CodingKeys: CodingKey { case b, a }
        }
        #expect(try BinaryDecoder().decode(BA.self, from: BinaryEncoder().encode(AB(a: 1, b: "x"))) == BA(b: "x", a: 1))
    }

    @Test("[UInt8], Data, String and arrays of numbers are written as their bytes, not element by element")
    func bytesAsBytes() throws {
        let n = 256 << 10
        let bytes = [UInt8](repeating: 200, count: n)
        #expect(try BinaryEncoder().encode(bytes).count <= n + 8)
        #expect(try BinaryEncoder().encode(Data(bytes)).count <= n + 8)
        #expect(try BinaryEncoder().encode(String(repeating: "é", count: n / 2)).count <= n + 8)
        #expect(try BinaryEncoder().encode([Int](repeating: -1, count: n / 8)).count <= n + 8)
        #expect(try BinaryEncoder().encode([Double](repeating: 0.1, count: n / 8)).count <= n + 8)
        #expect(try BinaryEncoder().encode([bytes]).count <= n + 16)
        #expect(try BinaryDecoder().decode([[UInt8]].self, from: BinaryEncoder().encode([bytes])) == [bytes])
    }

    @Test("a payload of another type, version or length is a clear DecodingError")
    func rejects() throws {
        let good = try BinaryEncoder().encode(Everything())
        func why(_ b: [UInt8], as type: (some Decodable).Type = Everything.self) -> String {
            do { _ = try BinaryDecoder().decode(type, from: b); return "decoded" } catch let e as DecodingError {
                return String(describing: e)
            } catch { return "other error \(error)" }
        }
        #expect(why(Array(good.dropLast())).contains("binary payload, byte"))
        #expect(why(good + [0]).contains("1 bytes after"))
        #expect(why([0xFB, 2] + good.dropFirst(2)).contains("version 2"))
        #expect(why(Array("[1,2]".utf8)).contains("no magic"))
        #expect(why(try BinaryEncoder().encode("12"), as: Int.self).contains("found a String"))
        #expect(why(try BinaryEncoder().encode(300), as: UInt8.self).contains("does not fit UInt8"))
        #expect(why(try BinaryEncoder().encode([1, 2]), as: [Double].self).contains("expected Array<Double>"))
        #expect(why([0xFB, 1, 0x07, 2, 0xC3, 0x28], as: String.self).contains("not valid UTF-8"))
        #expect(why([0xFB, 1, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F], as: [UInt8].self).contains("only 0 left"))
    }

    /// The seeds in Fixtures/fuzz/codec (Tools/fuzz/make-codec-seeds.swift wrote them).
    static func seeds() throws -> [(String, [UInt8])] {
        let dir = URL(filePath: #filePath).deletingLastPathComponent().appending(path: "../../Fixtures/fuzz/codec").standardized
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".bin") }.sorted()
        return try names.map { ($0, Array(try Data(contentsOf: dir.appending(path: $0)))) }
    }

    @Test("the seed corpus decodes, and every truncation and byte flip of it is decoded or rejected, never a crash")
    func corpus() throws {
        let seeds = try Self.seeds()
        #expect(seeds.count >= 5)
        for (name, seed) in seeds {
            // Each seed is an `Everything` or one of the fast-path types; it must decode as one.
            let decoded = (try? BinaryDecoder().decode(Everything.self, from: seed)) != nil
                || (try? BinaryDecoder().decode([[UInt8]].self, from: seed)) != nil
                || (try? BinaryDecoder().decode([Int].self, from: seed)) != nil
                || (try? BinaryDecoder().decode([String].self, from: seed)) != nil
            #expect(decoded, "seed \(name) does not decode")
            for cut in 0..<seed.count {
                #expect(throws: DecodingError.self, "seed \(name) cut at \(cut)") {
                    _ = try BinaryDecoder().decode(Everything.self, from: Array(seed[..<cut]))
                }
            }
            var rng = SplitMix(seed: UInt64(seed.count))
            for _ in 0..<min(2_000, seed.count * 8) {
                var damaged = seed
                damaged[Int(rng.next() % UInt64(seed.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                _ = try? BinaryDecoder().decode(Everything.self, from: damaged)
                _ = try? BinaryDecoder().decode([[UInt8]].self, from: damaged)
                _ = try? BinaryDecoder().decode([String].self, from: damaged)
            }
        }
    }
}

/// A small deterministic generator, so a failure names a reproducible input.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
