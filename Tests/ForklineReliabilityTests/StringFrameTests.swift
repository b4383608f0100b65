import ForklineChannels
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("A String frame whose bytes are not UTF-8")
struct StringFrameTests {
    /// A frame as a peer writes it (docs/channels.md): header, then `payload`, with type `type`.
    static func frame(_ payload: [UInt8], type: UInt8) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 32)
        func put32(_ v: UInt32, _ at: Int) { for i in 0..<4 { h[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        put32(0x3146_4C46, 0)
        put32(UInt32(payload.count), 4)
        h[24] = type
        var fnv: UInt32 = 0x811C_9DC5
        for b in h[0..<28] { fnv = (fnv ^ UInt32(b)) &* 0x0100_0193 }
        put32(fnv, 28)
        return h + payload
    }

    @Test("is received as an encoding error, not a repaired string; the stream goes on")
    func invalidUTF8() throws {
        let (reader, writer) = try Connection.pipe(duplex: false)
        let bytes = Self.frame([0x41, 0xFF, 0xFE, 0x42], type: 3) + Self.frame(Array("after".utf8), type: 3)
        let written = bytes.withUnsafeBytes { write(writer.fileDescriptors[0], $0.baseAddress, $0.count) }
        #expect(written == bytes.count)
        writer.close()
        do {
            let s = try reader.receive(String.self)
            Issue.record("received \(String(describing: s)) (\(s.map { Array($0.utf8) } ?? []))")
        } catch {
            #expect(error.code == .encoding, "\(error)")
            #expect(error.description.contains("UTF-8"), "\(error)")
        }
        #expect(!reader.isClosed, "a whole frame whose payload is not a String leaves the stream usable")
        #expect(try reader.receive(String.self) == "after")
    }
}
