import Foundation
import ForklineChannels
import ForklineTestSupport
import Testing

struct Point: Codable, Equatable, Sendable { var x: Int; var label: String }

@Suite("Connections: framing, EOF and broken frames")
struct ConnectionTests {
    @Test("values and bytes arrive whole and in order, both ways on a duplex pipe")
    func roundTrip() throws {
        let (a, b) = try Connection.pipe()
        try a.send(Point(x: 1, label: "one"))
        try a.sendBytes([1, 2, 3])
        try b.send(Point(x: 2, label: "two"))
        #expect(try b.receive(Point.self) == Point(x: 1, label: "one"))
        #expect(try b.receiveBytes() == [1, 2, 3])
        #expect(try a.receive(Point.self) == Point(x: 2, label: "two"))
    }

    @Test("a message larger than the pipe's buffer arrives whole")
    func largeMessage() throws {
        let (reader, writer) = try Connection.pipe(duplex: false)
        let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let sender = Thread { try? writer.sendBytes(big) }
        sender.start()
        #expect(try reader.receiveBytes() == big)
    }

    @Test("the peer closing its end is a clean end: receive returns nil")
    func endOfStream() throws {
        let (a, b) = try Connection.pipe()
        try a.send(7)
        a.close()
        #expect(try b.receive(Int.self) == 7)
        #expect(try b.receive(Int.self) == nil)
        #expect(throws: ChannelError.self) { try a.send(1) }
    }

    @Test("sending to a closed peer is a peerClosed error, not a SIGPIPE", arguments: [true, false])
    func peerGone(duplex: Bool) throws {
        let (a, b) = try Connection.pipe(duplex: duplex)
        a.close()
        #expect { try b.sendBytes([1]) } throws: { ($0 as? ChannelError)?.code == .peerClosed }
    }

    @Test("a one-way pipe refuses the wrong direction")
    func direction() throws {
        let (reader, writer) = try Connection.pipe(duplex: false)
        #expect { try reader.sendBytes([1]) } throws: { ($0 as? ChannelError)?.code == .closed }
        #expect { try writer.receiveBytes() } throws: { ($0 as? ChannelError)?.code == .closed }
    }

    /// Writes raw bytes to the descriptor under a connection, as a broken or hostile peer would.
    func writeRaw(_ c: Connection, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { write(c.fileDescriptors[0], $0.baseAddress, $0.count) }
    }

    @Test("garbage instead of a frame is a corruptFrame error naming the connection, and closes it")
    func corrupt() throws {
        let (a, b) = try Connection.pipe()
        writeRaw(a, Array("this is not a frame at all, no sir".utf8))
        #expect { try b.receiveBytes() } throws: { e in
            let ce = e as? ChannelError
            return ce?.code == .corruptFrame && ce?.message.contains(b.label) == true
        }
        #expect(b.isClosed)
    }

    @Test("a frame announcing more than maxMessageSize is an oversizedFrame error")
    func oversized() throws {
        let (a, b) = try Connection.pipe(maxMessageSize: 1024)
        #expect { try a.sendBytes([UInt8](repeating: 0, count: 2048)) } throws: { ($0 as? ChannelError)?.code == .oversizedFrame }
        // A peer with a larger limit (or a hostile one) announces 1 GiB.
        let (big, _) = try Connection.pipe()
        _ = big
        var header = [UInt8](repeating: 0, count: 32)
        header.withUnsafeMutableBytes { p in
            p.storeBytes(of: UInt32(0x3146_4C46).littleEndian, toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: UInt32(1 << 30).littleEndian, toByteOffset: 4, as: UInt32.self)
            var h: UInt32 = 0x811C_9DC5
            for byte in p[0..<28] { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
            p.storeBytes(of: h.littleEndian, toByteOffset: 28, as: UInt32.self)
        }
        writeRaw(a, header)
        #expect { try b.receiveBytes() } throws: { ($0 as? ChannelError)?.code == .oversizedFrame }
    }

    @Test("a peer that dies in the middle of a frame gives truncatedFrame")
    func truncated() throws {
        let (a, b) = try Connection.pipe()
        try a.sendBytes([UInt8](repeating: 9, count: 100))
        var frame = [UInt8](repeating: 0, count: 132)
        _ = frame.withUnsafeMutableBytes { read(b.fileDescriptors[0], $0.baseAddress, 132) }
        writeRaw(a, Array(frame.prefix(60)))
        a.close()
        #expect { try b.receiveBytes() } throws: { ($0 as? ChannelError)?.code == .truncatedFrame }
    }

    @Test("poll times out on an empty pipe; wait returns the connections that are ready")
    func pollAndWait() throws {
        let (a, b) = try Connection.pipe()
        let (c, d) = try Connection.pipe()
        #expect(!b.poll(timeout: .milliseconds(30)))
        try a.send("hi")
        #expect(b.poll(timeout: .zero))
        let ready = Connection.wait([b, d], timeout: .milliseconds(100))
        #expect(ready.count == 1 && ready[0] === b)
        c.close()
        #expect(Connection.wait([d], timeout: .seconds(1)).count == 1, "the end of a stream is ready too")
    }

    @Test("an async receive waits without blocking a thread")
    func asyncReceive() async throws {
        let (a, b) = try Connection.pipe()
        async let got: Point? = b.receive(Point.self)
        try await Task.sleep(for: .milliseconds(20))
        try a.send(Point(x: 3, label: "later"))
        #expect(try await got == Point(x: 3, label: "later"))
    }
}
