import Dispatch
import FoundationEssentials
import ForklineChannels
import Synchronization
import Testing

/// A class that encodes its superclass into the same encoder (`super.encode(to: encoder)`, the
/// common form), so both levels ask one encoder for a keyed container: one object, as in JSON.
class Animal: Codable {
    var legs = 4
    init() {}
}
final class Dog: Animal, @unchecked Sendable {
    var name = "rex"
    enum K: CodingKey { case name }
    override init() { super.init() }
    required init(from decoder: any Decoder) throws {
        name = try decoder.container(keyedBy: K.self).decode(String.self, forKey: .name)
        try super.init(from: decoder)
    }
    override func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: K.self)
        try c.encode(name, forKey: .name)
        try super.encode(to: encoder)
    }
}

/// A value that writes its own coding path (as a String), and on decoding keeps the path the
/// decoder gave it: the paths an encoder and a decoder report, compared with JSON's.
struct PathProbe: Codable, Equatable {
    var encoded: String
    var decoded = ""
    init() { encoded = "" }
    init(from decoder: any Decoder) throws {
        encoded = try decoder.singleValueContainer().decode(String.self)
        decoded = decoder.codingPath.map(\.stringValue).joined(separator: "/")
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(encoder.codingPath.map(\.stringValue).joined(separator: "/"))
    }
}
struct Probed: Codable, Equatable {
    struct Inner: Codable, Equatable { var p = PathProbe() }
    var list = [PathProbe(), PathProbe()]
    var inner = Inner()
    var table = ["k": PathProbe()]
}

/// Writes a nested container's elements after writing to its parent again: out of order.
struct LateWriter: Encodable {
    var a: Int
    var b: [Int]
    enum K: CodingKey { case a, b }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: K.self)
        var n = c.nestedUnkeyedContainer(forKey: .b)
        try c.encode(a, forKey: .a)
        for x in b { try n.encode(x) }
    }
}
/// The same fields written in order: b's elements, then a.
struct InOrderWriter: Codable, Equatable {
    var b: [Int]
    var a: Int
    enum CodingKeys: CodingKey { case b, a }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        var n = c.nestedUnkeyedContainer(forKey: .b)
        for x in b { try n.encode(x) }
        try c.encode(a, forKey: .a)
    }
}

/// A chain of boxes: recursion through `decodeIfPresent`, for payloads nested too deep.
final class Chain: Codable, Sendable {
    let next: Chain?
    init(next: Chain?) { self.next = next }
}

/// A value whose `encode(to:)` itself runs the binary codec (an encode inside an encode).
struct Sealed: Codable, Equatable {
    var inner: Everything
    enum K: CodingKey { case blob }
    init(inner: Everything) { self.inner = inner }
    init(from decoder: any Decoder) throws {
        let blob = try decoder.container(keyedBy: K.self).decode([UInt8].self, forKey: .blob)
        inner = try BinaryDecoder().decode(Everything.self, from: blob)
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: K.self)
        try c.encode(try BinaryEncoder().encode(inner), forKey: .blob)
    }
}

/// The codec's one-buffer encoder and in-place decoder (docs/codec.md, "How it reads and
/// writes"): every way Codable lets a type fill its containers gives the payload the format
/// says, and damaged input is still an error, never a crash.
@Suite("Binary codec: container order, paths, nesting")
struct BinaryCodecOrderTests {
    @Test("a class that encodes its superclass into the same encoder round-trips, as with JSONEncoder")
    func superIntoSameEncoder() throws {
        let d = Dog()
        d.legs = 3
        d.name = "tripod"
        let json = try JSONDecoder().decode(Dog.self, from: JSONEncoder().encode(d))
        #expect(json.legs == 3 && json.name == "tripod")
        let back = try BinaryDecoder().decode(Dog.self, from: BinaryEncoder().encode(d))
        #expect(back.legs == 3 && back.name == "tripod")
    }

    @Test("Encoder and Decoder codingPath name the keys and indexes above a value, as JSON's do")
    func codingPaths() throws {
        let json = try JSONDecoder().decode(Probed.self, from: JSONEncoder().encode(Probed()))
        let binary = try BinaryDecoder().decode(Probed.self, from: BinaryEncoder().encode(Probed()))
        #expect(json.list.map(\.encoded) == ["list/Index 0", "list/Index 1"])
        #expect(binary == json)
    }

    @Test("a value that fills a nested container after its parent moved on is encoded in full, the same bytes as in order")
    func outOfOrder() throws {
        let late = try BinaryEncoder().encode(LateWriter(a: 7, b: [1, 2, 3]))
        let inOrder = try BinaryEncoder().encode(InOrderWriter(b: [1, 2, 3], a: 7))
        #expect(late == inOrder)
        #expect(try BinaryDecoder().decode(InOrderWriter.self, from: late) == InOrderWriter(b: [1, 2, 3], a: 7))
    }

    @Test("a payload nested deeper than 512 containers is a DecodingError, not a stack overflow")
    func deepNesting() throws {
        let depth = 100_000
        // Chain(next: Chain(next: ...)): {"next": {"next": ... {} ...}}
        var b: [UInt8] = [0xFB, 1]
        for _ in 0..<depth { b += [0x0A, 0x07, 4] + Array("next".utf8) }
        b += [0x0A, 0x0F] + [UInt8](repeating: 0x0F, count: depth)
        #expect {
            _ = try BinaryDecoder().decode(Chain.self, from: b)
        } throws: { e in String(describing: e).contains("nested more than 512 deep") }
        // 500 deep is a value.
        var ok: [UInt8] = [0xFB, 1]
        for _ in 0..<500 { ok += [0x0A, 0x07, 4] + Array("next".utf8) }
        ok += [0x0A, 0x0F] + [UInt8](repeating: 0x0F, count: 500)
        var c: Chain? = try BinaryDecoder().decode(Chain.self, from: ok)
        var n = 0
        while let next = c?.next { c = next; n += 1 }
        #expect(n == 500)
    }

    @Test("an encode inside an encode, and encodes on many threads at once, each give the payload alone")
    func reentrantAndThreads() throws {
        let v = Everything()
        let sealed = try BinaryEncoder().encode(Sealed(inner: v))
        #expect(try BinaryDecoder().decode(Sealed.self, from: sealed) == Sealed(inner: v))
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            for j in 0..<300 {
                var w = Everything()
                w.int = i * 1000 + j
                w.name = String(repeating: "x", count: j)
                guard let back = try? BinaryDecoder().decode(Everything.self, from: BinaryEncoder().encode(w)), back == w else {
                    failures.add()
                    continue
                }
            }
        }
        #expect(failures.value == 0)
    }
}

/// A thread-safe count for the threads test.
final class Counter: Sendable {
    private let n = Mutex(0)
    func add() { n.withLock { $0 += 1 } }
    var value: Int { n.withLock { $0 } }
}
