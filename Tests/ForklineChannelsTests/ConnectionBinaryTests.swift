import FoundationEssentials
import ForklineChannels
import Testing

/// Which form a message takes on the wire (docs/codec.md): Codable values in the binary codec,
/// `Data` as its bytes, and JSON only where the sender asks for it with ``JSONCoded``.
@Suite("Connections: the binary codec on the wire")
struct ConnectionBinaryTests {
    struct Named: Codable, Equatable, Sendable { var id: Int; var name: String }

    @Test("a Codable struct travels in the binary codec, not as JSON")
    func structIsBinary() throws {
        let (a, b) = try Connection.pipe()
        try a.send(Named(id: 7, name: "seven"))
        let bytes = try #require(try b.receiveBytes())
        #expect(Array(bytes.prefix(2)) == [0xFB, 1])
        try a.send(Named(id: 7, name: "seven"))
        #expect(try b.receive(Named.self) == Named(id: 7, name: "seven"))
    }

    @Test("Data travels as its bytes")
    func dataIsBytes() throws {
        let (a, b) = try Connection.pipe()
        let data = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0) })
        try a.send(data)
        #expect(try b.receiveBytes() == Array(data))
        try a.send(data)
        #expect(try b.receive(Data.self) == data)
    }

    @Test("JSONCoded sends JSON, for a peer that reads JSON, and decodes back")
    func jsonOnRequest() throws {
        let (a, b) = try Connection.pipe()
        try a.send(JSONCoded(Named(id: 1, name: "j")))
        let text = String(decoding: try #require(try b.receiveBytes()), as: UTF8.self)
        #expect(text.hasPrefix("{") && text.contains("\"name\":\"j\""))
        try a.send(JSONCoded(Named(id: 1, name: "j")))
        #expect(try b.receive(JSONCoded<Named>.self)?.value == Named(id: 1, name: "j"))
    }

    @Test("a damaged binary message is an encoding error naming the type, and the connection goes on")
    func damaged() throws {
        let (a, b) = try Connection.pipe()
        var bytes = try BinaryEncoder().encode(Named(id: 1, name: "x"))
        bytes.removeLast()
        try a.sendBytes(bytes)
        try a.send(5)
        // Raw bytes are not a Named: an encoding error either way; the next message is intact.
        #expect { _ = try b.receive(Named.self) } throws: { e in
            (e as? ChannelError)?.code == .encoding && "\(e)".contains("Named")
        }
        #expect(try b.receive(Int.self) == 5)
    }
}
