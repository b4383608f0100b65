import Dispatch
import FoundationEssentials
import ForklineChannels
import Testing

/// A tree whose every level is the same type: a node's keyed container is still in use while
/// its children ask for one of the same `CodingKeys`, and its last field comes after them.
struct ReuseNode: Codable, Equatable {
    var id: Int
    var kids: [ReuseNode]
    var name: String
}

/// `ReuseNode` written by its own code: the bytes the `Codable` path must write.
struct ReuseNodeBinary: BinaryCodable, Equatable {
    var id: Int
    var kids: [ReuseNodeBinary]
    var name: String

    init(_ n: ReuseNode) {
        id = n.id
        kids = n.kids.map(ReuseNodeBinary.init)
        name = n.name
    }
    func encode(to w: inout BinaryWriter) throws {
        w.beginKeyed()
        try w.field("id", id)
        try w.field("kids", kids)
        try w.field("name", name)
        w.endKeyed()
    }
    init(from r: inout BinaryReader) throws {
        var f = try r.beginKeyed()
        id = try f.field("id")
        kids = try f.field("kids")
        name = try f.field("name")
        try r.endKeyed(f)
    }
}

/// `ReuseNode` read back to front (its last field first, then its children, then the rest) and
/// noting the coding path its container reports after its children were read: each level's
/// container must still be its own after the children's containers came and went.
struct BackwardsNode: Codable, Equatable {
    var id: Int
    var kids: [BackwardsNode]
    var name: String
    var depthSeen = 0
    enum CodingKeys: String, CodingKey { case id, kids, name }

    init(_ n: ReuseNode, depth: Int = 0) {
        id = n.id
        kids = n.kids.map { BackwardsNode($0, depth: depth + 1) }
        name = n.name
        depthSeen = depth
    }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        kids = try c.decode([BackwardsNode].self, forKey: .kids)
        id = try c.decode(Int.self, forKey: .id)
        // Depth from the path: each level adds "kids" and "Index N".
        depthSeen = c.codingPath.count / 2
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(kids, forKey: .kids)
        try c.encode(name, forKey: .name)
    }
}

/// Keeps the keyed containers it is handed past its `encode(to:)` and `init(from:)` (as a
/// type may, though it must not use them after): a container still held is never handed to
/// another value.
struct Hoarder: Codable, Equatable {
    nonisolated(unsafe) static var encoders: [KeyedEncodingContainer<CodingKeys>] = []
    nonisolated(unsafe) static var decoders: [KeyedDecodingContainer<CodingKeys>] = []
    enum CodingKeys: CodingKey { case a, b }
    var a: Int
    var b: String

    init(a: Int, b: String) {
        self.a = a
        self.b = b
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(a, forKey: .a)
        Self.encoders.append(c)
        try c.encode(b, forKey: .b)
    }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        a = try c.decode(Int.self, forKey: .a)
        Self.decoders.append(c)
        b = try c.decode(String.self, forKey: .b)
    }
}

/// The codec hands a keyed container out again once nothing holds it (docs/codec.md, "How it
/// reads and writes"): these check that a container in use, or kept, is never another value's.
@Suite("Keyed containers handed out again", .serialized)
struct BinaryCodecReuseTests {
    static func tree(_ depth: Int, _ id: inout Int) -> ReuseNode {
        id += 1
        let me = id
        let kids = depth == 0 ? [] : (0..<3).map { _ in tree(depth - 1, &id) }
        return ReuseNode(id: me, kids: kids, name: "node \(me)")
    }

    @Test("a tree of one type round-trips, each level's fields after its children its own, in the BinaryCodable twin's bytes")
    func nestedSameType() throws {
        var n = 0
        let t = Self.tree(4, &n)
        let bytes = try BinaryEncoder().encode(t)
        #expect(bytes == (try BinaryEncoder().encode(ReuseNodeBinary(t))))
        #expect(try BinaryDecoder().decode(ReuseNode.self, from: bytes) == t)
        #expect(try BinaryDecoder().decode(ReuseNodeBinary.self, from: bytes) == ReuseNodeBinary(t))
        let backwards = BackwardsNode(t)
        #expect(try BinaryEncoder().encode(backwards) == bytes)
        #expect(try BinaryDecoder().decode(BackwardsNode.self, from: bytes) == backwards)
        // Again: the second encode and decode take the containers the first one made.
        #expect(try BinaryEncoder().encode(t) == bytes)
        #expect(try BinaryDecoder().decode(ReuseNode.self, from: bytes) == t)
    }

    @Test("containers a value kept are not handed to the values after it")
    func keptContainers() throws {
        Hoarder.encoders = []
        Hoarder.decoders = []
        defer {
            Hoarder.encoders = []
            Hoarder.decoders = []
        }
        let values = (0..<100).map { Hoarder(a: $0, b: "v\($0)") }
        for v in values {
            let bytes = try BinaryEncoder().encode(v)
            #expect(try BinaryDecoder().decode(Hoarder.self, from: bytes) == v)
            #expect(try BinaryDecoder().decode([Hoarder].self, from: BinaryEncoder().encode([v, v])) == [v, v])
        }
        #expect(Hoarder.encoders.count == 300 && Hoarder.decoders.count == 300)
        // Each kept one still names the path it was made for (one handed out again would name
        // the last value's).
        let paths = Hoarder.decoders.map { $0.codingPath.map(\.stringValue).joined(separator: "/") }
        #expect(paths == Array(repeating: ["", "Index 0", "Index 1"], count: 100).flatMap { $0 })
    }

    @Test("many threads encode and decode trees of one type at once, each its own")
    func threads() throws {
        let failures = Counter()
        DispatchQueue.concurrentPerform(iterations: 8) { k in
            var n = k * 1000
            let t = Self.tree(3, &n)
            for _ in 0..<200 {
                guard let b = try? BinaryEncoder().encode(t), let back = try? BinaryDecoder().decode(ReuseNode.self, from: b), back == t else {
                    failures.add()
                    continue
                }
            }
        }
        #expect(failures.value == 0)
    }
}
