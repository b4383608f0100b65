@testable import ForklineChannels
import Testing

/// The handshake's pure state machine, two ends fed each other's bytes (no sockets): the same
/// machine runs in a blocking ``Client`` and in a ``Listener``'s thread that serves many peers.
@Suite("The handshake state machine: two ends fed each other's bytes")
struct HandshakeMachineTests {
    /// Moves bytes between the two ends, never more than each asks for, until both ended; the
    /// bytes left over for each (what a socket would still hold).
    @discardableResult
    func pump(_ listener: inout HandshakeMachine, _ client: inout HandshakeMachine, chunk: Int = .max) -> (toListener: [UInt8], toClient: [UInt8]) {
        var toClient: [UInt8] = [], toListener: [UInt8] = []
        for _ in 0..<1000 {
            toClient += listener.takeOutbox()
            toListener += client.takeOutbox()
            var moved = false
            while client.wanted > 0, !toClient.isEmpty {
                let n = min(client.wanted, toClient.count, chunk)
                client.received(toClient.prefix(n))
                toClient.removeFirst(n)
                moved = true
            }
            while listener.wanted > 0, !toListener.isEmpty {
                let n = min(listener.wanted, toListener.count, chunk)
                listener.received(toListener.prefix(n))
                toListener.removeFirst(n)
                moved = true
            }
            if !moved, listener.outbox.isEmpty, client.outbox.isEmpty { break }
        }
        return (toListener, toClient)
    }

    @Test("the same key: both ends pass and name the connection with the same channel id, byte by byte too", arguments: [Int.max, 1, 3])
    func sameKey(chunk: Int) throws {
        let key = AuthKey.random()
        var l = HandshakeMachine(role: .listener, key: key, peer: "l")
        var c = HandshakeMachine(role: .client, key: key, peer: "c")
        pump(&l, &c, chunk: chunk)
        let a = try #require(try l.outcome?.get()), b = try #require(try c.outcome?.get())
        #expect(a == b && a != 0)
        #expect(l.wanted == 0 && c.wanted == 0)
    }

    @Test("different keys: both ends end with authenticationFailed")
    func differentKeys() {
        var l = HandshakeMachine(role: .listener, key: AuthKey.random(), peer: "l")
        var c = HandshakeMachine(role: .client, key: AuthKey.random(), peer: "c")
        pump(&l, &c)
        for o in [l.outcome, c.outcome] {
            guard case .failure(let e)? = o else { Issue.record("no failure: \(String(describing: o))"); continue }
            #expect(e.code == .authenticationFailed)
        }
    }

    @Test("the listener never reads past the handshake: the client's first frame stays unread")
    func stopsAtTheEnd() throws {
        let key = AuthKey.random()
        var l = HandshakeMachine(role: .listener, key: key, peer: "l")
        var c = HandshakeMachine(role: .client, key: key, peer: "c")
        // Run until the client passed; then it "sends a frame" right behind its last message.
        var toListener: [UInt8] = []
        var toClient: [UInt8] = []
        for _ in 0..<100 where l.outcome == nil {
            toClient += l.takeOutbox()
            while c.wanted > 0, !toClient.isEmpty { let n = min(c.wanted, toClient.count); c.received(toClient.prefix(n)); toClient.removeFirst(n) }
            toListener += c.takeOutbox()
            if c.outcome != nil, !toListener.contains(0xEE) { toListener += [0xEE, 0xEE] }
            while l.wanted > 0, !toListener.isEmpty { let n = min(l.wanted, toListener.count); l.received(toListener.prefix(n)); toListener.removeFirst(n) }
        }
        _ = try #require(try l.outcome?.get())
        #expect(toListener == [0xEE, 0xEE])
    }

    @Test("a length over 256 ends it after 4 bytes, before any body is read")
    func hugeLength() {
        var l = HandshakeMachine(role: .listener, key: AuthKey.random(), peer: "l")
        _ = l.takeOutbox()
        l.received([0x7F, 0xFF, 0xFF, 0xFF])
        guard case .failure(let e)? = l.outcome else { Issue.record("not refused"); return }
        #expect(e.code == .handshakeFailed && l.wanted == 0)
    }
}
