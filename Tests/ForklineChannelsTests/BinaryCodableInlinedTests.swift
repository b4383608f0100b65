import FoundationEssentials
import ForklineChannels
import ForklineTestSupport
import Testing

/// The struct `{Int, Double, String}` on the inlined readers and writers (docs/codec.md,
/// "Inlined into the type's module"): each of their usual cases (a one-byte length, a String of
/// up to 15 bytes, ASCII, a varint read in place) has a slower twin beside it (a length of two
/// bytes, a long or non-ASCII String, a ten-byte integer), and both must give the format's
/// bytes, read the other path's, and reject damage with the same errors.
@Suite("BinaryCodable on the inlined paths")
struct BinaryCodableInlinedTests {
    static let names: [String] = [
        "", "seven", "fifteen bytes!!", "sixteen bytes!!!",
        String(repeating: "a", count: 127), String(repeating: "b", count: 128), String(repeating: "c", count: 300),
        "héllo wörld ✓ 🙂", String(repeating: "é", count: 100),
    ]
    static let ids: [Int] = [0, 63, 64, -1, -65, 1 << 40, Int.max, Int.min]

    /// The payload of `Order(id:price:name:)` spelled out from docs/codec.md (format 1).
    static func spelled(id: Int, price: Double, name: String) -> [UInt8] {
        func leb(_ v: UInt64) -> [UInt8] {
            var v = v, out: [UInt8] = []
            while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
            return out + [UInt8(v)]
        }
        func key(_ k: String) -> [UInt8] { [0x07] + leb(UInt64(k.utf8.count)) + Array(k.utf8) }
        let zigzag = UInt64(bitPattern: Int64((id << 1) ^ (id >> 63)))
        return [0xFB, 1, 0x0A] + key("id") + [0x03] + leb(zigzag)
            + key("price") + [0x06] + withUnsafeBytes(of: price.bitPattern.littleEndian) { Array($0) }
            + key("name") + key(name) + [0x0F]
    }

    @Test("the struct gives the documented bytes through BinaryCodable and Codable, and each reads the other's", arguments: names)
    func documentedBytes(name: String) throws {
        for id in Self.ids {
            let order = Order(id: id, price: -0.1, name: name), peer = OrderCodable(id: id, price: -0.1, name: name)
            let expected = Self.spelled(id: id, price: -0.1, name: name)
            #expect(try BinaryEncoder().encode(order) == expected, "id \(id), \(name.utf8.count) bytes")
            #expect(try BinaryEncoder().encode(peer) == expected, "id \(id), \(name.utf8.count) bytes")
            #expect(try BinaryDecoder().decode(Order.self, from: expected) == order)
            #expect(try BinaryDecoder().decode(OrderCodable.self, from: expected) == peer)
        }
        // Through a queue (the generic entry points, one dynamic cast a value), in one process.
        let q = try Queue<Order>(), p = try Queue<OrderCodable>()
        try q.putNowait(Order(id: 3, price: 1.5, name: name))
        try p.putNowait(OrderCodable(id: 3, price: 1.5, name: name))
        #expect(try q.getNowait() == Order(id: 3, price: 1.5, name: name))
        #expect(try p.getNowait() == OrderCodable(id: 3, price: 1.5, name: name))
    }

    @Test("every truncation of the struct's payload is a DecodingError naming the byte, on both paths", arguments: names)
    func truncations(name: String) throws {
        let good = Self.spelled(id: Int.min, price: 2.5, name: name)
        for cut in 0..<good.count {
            let part = Array(good[..<cut])
            let decoders: [() throws -> Void] = [
                { _ = try BinaryDecoder().decode(Order.self, from: part) },
                { _ = try BinaryDecoder().decode(OrderCodable.self, from: part) },
            ]
            for decode in decoders {
                #expect("cut at \(cut) of \(good.count)") { try decode() } throws: { e in
                    "\(e)".contains("binary payload")
                }
            }
        }
    }

    @Test("damage inside a field is the error that names it: invalid UTF-8, a length past the end, an integer over 64 bits, a wrong tag")
    func damagedFields() throws {
        func expectError(_ bytes: [UInt8], _ text: String, _ comment: Comment) {
            #expect(comment) { _ = try BinaryDecoder().decode(Order.self, from: bytes) } throws: { e in "\(e)".contains(text) }
            #expect(comment) { _ = try BinaryDecoder().decode(OrderCodable.self, from: bytes) } throws: { e in "\(e)".contains(text) }
        }
        for name in ["seven", String(repeating: "x", count: 200)] {
            let good = Self.spelled(id: 5, price: 1, name: name)
            // A byte of the name made 0xFF: not UTF-8 (an ASCII-looking String otherwise).
            var bad = good
            bad[bad.count - 2] = 0xFF
            expectError(bad, "not valid UTF-8", "0xFF in a \(name.utf8.count)-byte name")
            // The name's length one more than the bytes left.
            let lengthAt = good.count - 1 - name.utf8.count - (name.utf8.count < 128 ? 1 : 2)
            var long = good
            long[lengthAt] &+= 2
            expectError(long, "left", "a \(name.utf8.count)-byte name longer than what is left of its payload")
        }
        // An id of eleven LEB128 bytes: longer than 64 bits.
        let overlong = [0xFB, 1, 0x0A, 0x07, 2] + Array("id".utf8) + [0x03] + [UInt8](repeating: 0xFF, count: 10) + [0x01]
            + Array(Self.spelled(id: 0, price: 1, name: "n").dropFirst(9))
        expectError(overlong, "longer than 64 bits", "an 11-byte integer")
        // A Double where the name's String is.
        let wrongTag = [0xFB, 1, 0x0A, 0x07, 2] + Array("id".utf8) + [0x03, 2, 0x07, 5] + Array("price".utf8) + [0x06]
            + [UInt8](repeating: 0, count: 8) + [0x07, 4] + Array("name".utf8) + [0x06] + [UInt8](repeating: 0, count: 8) + [0x0F]
        #expect(throws: DecodingError.self) { _ = try BinaryDecoder().decode(Order.self, from: wrongTag) }
        #expect(throws: DecodingError.self) { _ = try BinaryDecoder().decode(OrderCodable.self, from: wrongTag) }
    }

    @Test("an encode writes into this thread's reused buffer: two encodes of the struct lend the same bytes' place")
    func reusedBuffer() throws {
        func place<T: Encodable>(_ v: T) throws -> UnsafeRawPointer? {
            try BinaryEncoder.withPayload(v, message: true) { b, _ in b.baseAddress }
        }
        let a = try place(Order(id: 1, price: 1, name: "a")), b = try place(Order(id: 2, price: 2, name: String(repeating: "é", count: 50)))
        #expect(a != nil && a == b)
        let c = try place(OrderCodable(id: 1, price: 1, name: "a")), d = try place(OrderCodable(id: 2, price: 2, name: "b"))
        #expect(c != nil && c == d)
    }
}

/// The struct's round trips in a process of their own, where the heap in use can be read.
@Suite("BinaryCodable leaves nothing behind")
struct BinaryCodableLeakTests {
    @Test("100,000 round trips of the struct through the codec and a Queue, BinaryCodable and Codable-only, leave no memory behind")
    func noLeak() throws {
        let (out, _) = try TestSupport.runFixture(["codec-binary-leak", "fork"], traced: false, timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["wrong 0", "peak memory grew under 4 MiB true"], "\(out.stderr)")
    }
}
