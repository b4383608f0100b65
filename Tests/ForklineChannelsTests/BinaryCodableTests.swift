import FoundationEssentials
import ForklineChannels
import Testing

/// The struct with a hand-written `BinaryCodable` conformance (docs/codec.md shows this
/// conformance); `Codable` is synthesised beside it, so both paths can be compared.
struct Order: BinaryCodable, Equatable, Sendable {
    var id: Int
    var price: Double
    var name: String

    func encode(to writer: inout BinaryWriter) throws {
        writer.beginKeyed()
        try writer.field("id", id)
        try writer.field("price", price)
        try writer.field("name", name)
        writer.endKeyed()
    }
    init(from reader: inout BinaryReader) throws {
        var fields = try reader.beginKeyed()
        id = try fields.field("id")
        price = try fields.field("price")
        name = try fields.field("name")
        try reader.endKeyed(fields)
    }
    init(id: Int, price: Double, name: String) {
        self.id = id
        self.price = price
        self.name = name
    }
}

/// The same fields, `Codable` only: the peer whose bytes a `BinaryCodable` type must write.
struct OrderCodable: Codable, Equatable, Sendable { var id: Int; var price: Double; var name: String }

/// A type whose `Codable` conformance refuses to run: encoding or decoding it succeeds only
/// when the codec takes the `BinaryCodable` path.
struct OnlyBinary: BinaryCodable, Equatable, Sendable {
    struct CodablePathUsed: Error {}
    var n: Int
    init(n: Int) { self.n = n }
    func encode(to encoder: any Encoder) throws { throw CodablePathUsed() }
    init(from decoder: any Decoder) throws { throw CodablePathUsed() }
    func encode(to writer: inout BinaryWriter) throws {
        writer.beginKeyed()
        try writer.field("n", n)
        writer.endKeyed()
    }
    init(from reader: inout BinaryReader) throws {
        var fields = try reader.beginKeyed()
        n = try fields.field("n")
        try reader.endKeyed(fields)
    }
}

/// Every standard conformance in one struct: scalars, String, bytes, Data, optionals (absent and
/// present), arrays of numbers, of strings, of structs and of optionals, a nested struct, and a
/// field of a `Codable`-only type (an enum with payloads, a dictionary), which goes through
/// `Codable` inside the same payload.
struct Mixed: BinaryCodable, Equatable, Sendable {
    var i8: Int8 = -128, i16: Int16 = -3, i32: Int32 = .min, i64: Int64 = .max, int = -42
    var u8: UInt8 = 255, u16: UInt16 = 7, u32: UInt32 = .max, u64: UInt64 = .max, uint: UInt = 9
    var flag = true, ratio: Float = 0.25, weight = 1e300, name = "héllo, wörld"
    var bytes: [UInt8] = [0, 255, 7], data = Data([1, 2, 3])
    var missing: Int? = nil, present: String? = "here"
    var ints: [Int] = [.min, 0, .max], floats: [Float] = [1.5], strings = ["a", "", "c"]
    var orders = [Order(id: 1, price: 2, name: "x")], maybes: [Int?] = [1, nil, 3]
    var nested = OnlyBinaryFree(n: 4), shape = Everything.Shape.circle(radius: 2.5), table: [String: [Int]] = ["a": [1]]

    init() {}
    func encode(to w: inout BinaryWriter) throws {
        w.beginKeyed()
        try w.field("i8", i8); try w.field("i16", i16); try w.field("i32", i32); try w.field("i64", i64); try w.field("int", int)
        try w.field("u8", u8); try w.field("u16", u16); try w.field("u32", u32); try w.field("u64", u64); try w.field("uint", uint)
        try w.field("flag", flag); try w.field("ratio", ratio); try w.field("weight", weight); try w.field("name", name)
        try w.field("bytes", bytes); try w.field("data", data)
        try w.fieldIfPresent("missing", missing); try w.fieldIfPresent("present", present)
        try w.field("ints", ints); try w.field("floats", floats); try w.field("strings", strings)
        try w.field("orders", orders); try w.field("maybes", maybes)
        try w.field("nested", nested); try w.field("shape", shape); try w.field("table", table)
        w.endKeyed()
    }
    init(from r: inout BinaryReader) throws {
        var f = try r.beginKeyed()
        i8 = try f.field("i8"); i16 = try f.field("i16"); i32 = try f.field("i32"); i64 = try f.field("i64"); int = try f.field("int")
        u8 = try f.field("u8"); u16 = try f.field("u16"); u32 = try f.field("u32"); u64 = try f.field("u64"); uint = try f.field("uint")
        flag = try f.field("flag"); ratio = try f.field("ratio"); weight = try f.field("weight"); name = try f.field("name")
        bytes = try f.field("bytes"); data = try f.field("data")
        missing = try f.fieldIfPresent("missing"); present = try f.fieldIfPresent("present")
        ints = try f.field("ints"); floats = try f.field("floats"); strings = try f.field("strings")
        orders = try f.field("orders"); maybes = try f.field("maybes")
        nested = try f.field("nested"); shape = try f.field("shape"); table = try f.field("table")
        try r.endKeyed(f)
    }
}

/// A nested struct with its own conformance (the `Codable` one synthesised, so `MixedCodable`
/// can hold the same value).
struct OnlyBinaryFree: BinaryCodable, Equatable, Sendable {
    var n: Int
    init(n: Int) { self.n = n }
    func encode(to w: inout BinaryWriter) throws {
        w.beginKeyed()
        try w.field("n", n)
        w.endKeyed()
    }
    init(from r: inout BinaryReader) throws {
        var f = try r.beginKeyed()
        n = try f.field("n")
        try r.endKeyed(f)
    }
}

/// `Mixed`'s fields, `Codable` only.
struct MixedCodable: Codable, Equatable, Sendable {
    var i8: Int8 = -128, i16: Int16 = -3, i32: Int32 = .min, i64: Int64 = .max, int = -42
    var u8: UInt8 = 255, u16: UInt16 = 7, u32: UInt32 = .max, u64: UInt64 = .max, uint: UInt = 9
    var flag = true, ratio: Float = 0.25, weight = 1e300, name = "héllo, wörld"
    var bytes: [UInt8] = [0, 255, 7], data = Data([1, 2, 3])
    var missing: Int? = nil, present: String? = "here"
    var ints: [Int] = [.min, 0, .max], floats: [Float] = [1.5], strings = ["a", "", "c"]
    var orders = [OrderCodable(id: 1, price: 2, name: "x")], maybes: [Int?] = [1, nil, 3]
    var nested = OnlyBinaryFree(n: 4), shape = Everything.Shape.circle(radius: 2.5), table: [String: [Int]] = ["a": [1]]
}

/// `BinaryCodable` (docs/codec.md, "Code made per type"): a conforming type is written by its own
/// code, not through `Codable`, into the same bytes (format version 1), so a `Codable`-only peer
/// or an older trace reads it; damaged input is still a clear `DecodingError`.
@Suite("BinaryCodable")
struct BinaryCodableTests {
    @Test("a conforming type is encoded and decoded by its own code, not through Codable")
    func takesTheBinaryPath() throws {
        let bytes = try BinaryEncoder().encode(OnlyBinary(n: 5))
        #expect(try BinaryDecoder().decode(OnlyBinary.self, from: bytes) == OnlyBinary(n: 5))
        // Through the generic entry points too (a Queue<T>, a pool's [Input] reach these).
        func generic<T: Codable>(_ v: T) throws -> T { try BinaryDecoder().decode(T.self, from: BinaryEncoder().encode(v)) }
        #expect(try generic(OnlyBinary(n: 6)) == OnlyBinary(n: 6))
        #expect(try generic([OnlyBinary(n: 7), OnlyBinary(n: 8)]) == [OnlyBinary(n: 7), OnlyBinary(n: 8)])
        #expect(try generic(Optional(OnlyBinary(n: 9))) == OnlyBinary(n: 9))
    }

    @Test("the bytes are those of the Codable-only peer, byte for byte, and each side reads the other's")
    func sameBytesAsCodable() throws {
        let order = Order(id: -7, price: 2.5, name: "widget")
        let peer = OrderCodable(id: -7, price: 2.5, name: "widget")
        let mine = try BinaryEncoder().encode(order)
        #expect(mine == (try BinaryEncoder().encode(peer)))
        // The format spelled out (docs/codec.md): magic, version, keyed container, three fields.
        #expect(mine == [0xFB, 1, 0x0A, 0x07, 2] + Array("id".utf8) + [0x03, 13, 0x07, 5] + Array("price".utf8)
            + [0x06] + withUnsafeBytes(of: 2.5.bitPattern.littleEndian) { Array($0) }
            + [0x07, 4] + Array("name".utf8) + [0x07, 6] + Array("widget".utf8) + [0x0F])
        #expect(try BinaryDecoder().decode(OrderCodable.self, from: mine) == peer)
        #expect(try BinaryDecoder().decode(Order.self, from: BinaryEncoder().encode(peer)) == order)

        var mixed = Mixed()
        var mixedPeer = MixedCodable()
        for flip in [false, true] {
            if flip {
                mixed.missing = 5; mixed.present = nil; mixed.maybes = []; mixed.orders = []
                mixedPeer.missing = 5; mixedPeer.present = nil; mixedPeer.maybes = []; mixedPeer.orders = []
            }
            let a = try BinaryEncoder().encode(mixed), b = try BinaryEncoder().encode(mixedPeer)
            #expect(a == b, "Mixed (flip \(flip)): \(a.count) bytes against the Codable peer's \(b.count)")
            #expect(try BinaryDecoder().decode(Mixed.self, from: b) == mixed)
            #expect(try BinaryDecoder().decode(MixedCodable.self, from: a) == mixedPeer)
        }
        // The standard conformances at the top level: the same bytes as through Codable.
        func same<B: BinaryCodable & Equatable>(_ v: B) throws {
            let direct = try BinaryEncoder().encode(v)
            let viaCodable = try BinaryEncoder().encode(ViaCodable(v))
            #expect(direct == viaCodable, "\(B.self)")
            #expect(try BinaryDecoder().decode(B.self, from: direct) == v)
        }
        try same(-5); try same(Int8(-1)); try same(UInt64.max); try same(true); try same(Float(1.5)); try same(0.1)
        try same("ascii"); try same("ünïcode"); try same([UInt8]([1, 2])); try same(Data([9]))
        try same([1, 2, 3]); try same([Int32(4)]); try same(["a", "b"]); try same([true, false]); try same([[1], [2, 3]])
        try same(Optional<Int>.none); try same(Optional(3)); try same([Optional("a"), nil])
    }

    @Test("fields out of order, extra fields and a missing optional read as the Codable path reads them")
    func keysAsCodableReadsThem() throws {
        struct Reordered: Codable { var name: String; var extra: [Int]; var price: Double; var id: Int }
        let bytes = try BinaryEncoder().encode(Reordered(name: "n", extra: [1, 2], price: 1, id: 3))
        #expect(try BinaryDecoder().decode(Order.self, from: bytes) == Order(id: 3, price: 1, name: "n"))
        #expect(try BinaryDecoder().decode(OrderCodable.self, from: bytes) == OrderCodable(id: 3, price: 1, name: "n"))
    }

    @Test("a missing field, a field of another type, an unknown tag and a truncation are clear DecodingErrors")
    func damagedInput() throws {
        struct NoName: Codable { var id: Int; var price: Double }
        let noName = try BinaryEncoder().encode(NoName(id: 1, price: 2))
        #expect { try BinaryDecoder().decode(Order.self, from: noName) } throws: { e in
            guard case DecodingError.keyNotFound(let key, _) = e else { return false }
            return key.stringValue == "name"
        }
        struct WrongType: Codable { var id: String; var price: Double; var name: String }
        let wrong = try BinaryEncoder().encode(WrongType(id: "1", price: 2, name: "n"))
        #expect { try BinaryDecoder().decode(Order.self, from: wrong) } throws: { e in
            guard case DecodingError.typeMismatch(_, let c) = e else { return false }
            return c.debugDescription.contains("binary payload, byte")
        }
        // Not a keyed container where a struct is asked for.
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Order.self, from: BinaryEncoder().encode([1, 2])) }
        let good = try BinaryEncoder().encode(Order(id: 1, price: 2, name: "n"))
        for cut in 0..<good.count {
            #expect(throws: DecodingError.self, "cut at \(cut)") { try BinaryDecoder().decode(Order.self, from: Array(good[..<cut])) }
        }
        var unknown = good
        unknown[unknown.count - 1] = 0x3C
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Order.self, from: unknown) }
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Order.self, from: good + [0]) }
        // A recursive type fed a payload nested far too deep: an error, not a stack overflow.
        let deep = [0xFB, 1] + [UInt8](repeating: 0x09, count: 100_000) + [UInt8](repeating: 0x0F, count: 100_000)
        #expect(throws: DecodingError.self) { try BinaryDecoder().decode(Tree.self, from: deep) }
    }

    @Test("the seed corpus decodes through a BinaryCodable twin as through Codable, and every truncation and byte flip is decoded or rejected")
    func corpus() throws {
        var checked = 0
        for (name, seed) in try BinaryCodecTests.seeds() {
            if let viaCodable = try? BinaryDecoder().decode(MixedSeed.Peer.self, from: seed) {
                #expect(try BinaryDecoder().decode(MixedSeed.self, from: seed).peer == viaCodable, "seed \(name)")
                checked += 1
                for cut in 0..<seed.count {
                    #expect(throws: DecodingError.self, "seed \(name) cut at \(cut)") { try BinaryDecoder().decode(MixedSeed.self, from: Array(seed[..<cut])) }
                }
            }
            for type in [0, 1, 2] {
                var rng = SplitMix(seed: UInt64(seed.count + type))
                for _ in 0..<min(1_000, seed.count * 4) {
                    var damaged = seed
                    damaged[Int(rng.next() % UInt64(seed.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1)
                    switch type {
                    case 0: _ = try? BinaryDecoder().decode(MixedSeed.self, from: damaged)
                    case 1: _ = try? BinaryDecoder().decode([[UInt8]].self, from: damaged)
                    default: _ = try? BinaryDecoder().decode([String].self, from: damaged)
                    }
                }
            }
        }
        #expect(checked >= 2)
    }
}

/// A recursive conforming type (an array of itself), for the depth bound.
struct Tree: BinaryCodable {
    var children: [Tree]
    func encode(to w: inout BinaryWriter) throws { try w.write(children) }
    init(from r: inout BinaryReader) throws { children = try r.read([Tree].self) }
}

/// Wraps a value so that the codec encodes it through `Codable` (a type that is not `BinaryCodable`).
struct ViaCodable<V: Codable>: Codable {
    var v: V
    init(_ v: V) { self.v = v }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(v)
    }
    init(from decoder: any Decoder) throws { v = try decoder.singleValueContainer().decode(V.self) }
}

/// The seeds' `Everything` read field by field through `BinaryCodable` (Codable-only fields
/// through the fallback), to compare with the `Codable` decode.
struct MixedSeed: BinaryCodable {
    struct Peer: Codable, Equatable {
        var int: Int, small: Int8, big: UInt64, flag: Bool, ratio: Float, weight: Double, name: String
        var missing: Int?, present: String?, shapes: [Everything.Shape], table: [String: [Int]]
        var bytes: [UInt8], data: Data, ints: [Int], doubles: [Double], nested: [[String]]
    }
    var peer: Peer
    func encode(to w: inout BinaryWriter) throws { try w.write(ViaCodable(peer)) }
    init(from r: inout BinaryReader) throws {
        var f = try r.beginKeyed()
        peer = Peer(
            int: try f.field("int"), small: try f.field("small"), big: try f.field("big"), flag: try f.field("flag"),
            ratio: try f.field("ratio"), weight: try f.field("weight"), name: try f.field("name"),
            missing: try f.fieldIfPresent("missing"), present: try f.fieldIfPresent("present"),
            shapes: try f.field("shapes"), table: try f.field("table"), bytes: try f.field("bytes"), data: try f.field("data"),
            ints: try f.field("ints"), doubles: try f.field("doubles"), nested: try f.field("nested"))
        try r.endKeyed(f)
    }
}
