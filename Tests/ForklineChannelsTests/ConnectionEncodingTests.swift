import ForklineChannels
import Testing

struct Sample: Codable, Equatable, Sendable { var id: Int; var weight: Double }
struct OtherSample: Codable, Equatable, Sendable { var count: Int; var ratio: Double }
enum Mode: UInt8, Codable, Sendable { case fast, safe }

/// How values travel on a Connection (docs/channels.md, "Encoding"): plain data as its bytes,
/// strings as UTF-8, byte arrays as they are, anything else as JSON; each frame says which.
@Suite("Connections: encodings chosen by type")
struct ConnectionEncodingTests {
    @Test("plain data, strings, byte arrays and other Codable values arrive equal")
    func everyEncoding() throws {
        let (a, b) = try Connection.pipe()
        try a.send(42)
        try a.send(Sample(id: 7, weight: 2.5))
        try a.send(Mode.safe)
        try a.send(Optional<Int>.some(3))
        try a.send("héllo, wörld")
        try a.send([UInt8]([0, 255, 7]))
        try a.send(Point(x: 1, label: "json"))
        try a.send([1, 2, 3])
        #expect(try b.receive(Int.self) == 42)
        #expect(try b.receive(Sample.self) == Sample(id: 7, weight: 2.5))
        #expect(try b.receive(Mode.self) == .safe)
        #expect(try b.receive(Int?.self) == 3)
        #expect(try b.receive(String.self) == "héllo, wörld")
        #expect(try b.receive([UInt8].self) == [0, 255, 7])
        #expect(try b.receive(Point.self) == Point(x: 1, label: "json"))
        #expect(try b.receive([Int].self) == [1, 2, 3])
    }

    @Test("plain data received as another type of the same size is an encoding error, and the connection goes on")
    func typeMismatch() throws {
        let (a, b) = try Connection.pipe()
        try a.send(Sample(id: 1, weight: 1))
        try a.send(5)
        #expect {
            _ = try b.receive(OtherSample.self)
        } throws: { error in
            let e = try #require(error as? ChannelError)
            return e.code == .encoding && e.description.contains("OtherSample")
        }
        #expect(!b.isClosed)
        #expect(try b.receive(Int.self) == 5)
    }

    @Test("an encoding error names the connection it happened on, sending and receiving")
    func errorsNameTheConnection() throws {
        struct Unencodable: Codable, Sendable {
            var name = "not plain data"  // a plain struct would go as its bytes, never encoded
            func encode(to encoder: any Encoder) throws { throw EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "never")) }
            init() {}
            init(from decoder: any Decoder) throws { self.init() }
        }
        let (a, b) = try Connection.pipe()
        func named(_ c: Connection, _ body: () throws -> Void) -> Bool {
            do { try body() } catch let e as ChannelError { return e.code == .encoding && e.description.contains(c.label) } catch { return false }
            return false
        }
        #expect(named(a) { try a.send(Unencodable()) })
        try a.send("12")
        #expect(named(b) { _ = try b.receive(Int.self) })
        try a.send(Sample(id: 1, weight: 1))
        #expect(named(b) { _ = try b.receive(OtherSample.self) })
        try a.sendBytes([0xFF, 0xFE])
        #expect(named(b) { _ = try b.receive(Sample.self) })
        #expect(!a.isClosed && !b.isClosed)
    }

    @Test("a string sent is not an Int received: a clear error")
    func stringAsInt() throws {
        let (a, b) = try Connection.pipe()
        try a.send("12")
        #expect(throws: ChannelError.self) { _ = try b.receive(Int.self) }
    }

    @Test("receiveBytes gets the payload of any frame")
    func bytesOfAnyFrame() throws {
        let (a, b) = try Connection.pipe()
        try a.send(UInt32(0x0403_0201))
        try a.send("ab")
        #expect(try b.receiveBytes() == [1, 2, 3, 4])
        #expect(try b.receiveBytes() == [0x61, 0x62])
    }
}
