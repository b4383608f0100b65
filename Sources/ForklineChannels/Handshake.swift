import CForkline
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// The shared-key handshake of a TCP connection, run on the raw socket before any frame is
/// accepted: Python's `multiprocessing.connection` `deliver_challenge` / `answer_challenge` with
/// HMAC-SHA256 (docs/cluster.md, "The handshake").
///
/// Each handshake message is a 4-byte big-endian length and at most 256 bytes. The listener
/// challenges first: it sends `#CHALLENGE#{sha256}` and 40 fresh random bytes; the client answers
/// `{sha256}` and the HMAC-SHA256, under the key, of everything after `#CHALLENGE#`; the listener
/// compares it in constant time and says `#WELCOME#` or `#FAILURE#`. Then the roles swap: the
/// client challenges and the listener answers. Both ends derive the channel id (the trace's
/// name for the connection) from the two challenges.
enum Handshake {
    static let challenge = Array("#CHALLENGE#".utf8)
    static let welcome = Array("#WELCOME#".utf8)
    static let failure = Array("#FAILURE#".utf8)
    static let digestTag = Array("{sha256}".utf8)
    static let nonceLength = 40
    /// The longest handshake message accepted (Python's `recv_bytes(256)`).
    static let largest = 256

    /// The listener's side; returns the channel id.
    static func serve(_ fd: Int32, key: AuthKey, deadline: UInt64, peer: String) throws(ChannelError) -> UInt64 {
        let mine = try deliver(fd, key, deadline, peer)
        let theirs = try answer(fd, key, deadline, peer)
        return channel(mine, theirs)
    }

    /// The client's side; returns the channel id.
    static func join(_ fd: Int32, key: AuthKey, deadline: UInt64, peer: String) throws(ChannelError) -> UInt64 {
        let theirs = try answer(fd, key, deadline, peer)
        let mine = try deliver(fd, key, deadline, peer)
        return channel(theirs, mine)
    }

    /// The listener's challenge first, the client's second: the same id at both ends, fresh for
    /// every connection.
    static func channel(_ first: [UInt8], _ second: [UInt8]) -> UInt64 {
        let d = SHA256.hash(first + second)
        let id = d.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return id == 0 ? 1 : id
    }

    /// Sends a fresh challenge and checks the peer's answer; returns the challenge.
    static func deliver(_ fd: Int32, _ key: AuthKey, _ deadline: UInt64, _ peer: String) throws(ChannelError) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        let message = digestTag + (0..<nonceLength).map { _ in UInt8.random(in: 0...255, using: &g) }
        try writeMessage(fd, challenge + message, peer)
        let response = try readMessage(fd, deadline, peer)
        let expected = digestTag + HMACSHA256.mac(key: key.bytes, message: message)
        guard HMACSHA256.constantTimeEqual(response, expected) else {
            try? writeMessage(fd, failure, peer)
            throw ChannelError(.authenticationFailed, "\(peer): the peer's answer to the key challenge is wrong: it does not hold this key; the connection is refused")
        }
        try writeMessage(fd, welcome, peer)
        return message
    }

    /// Answers the peer's challenge and reads its verdict; returns the challenge.
    static func answer(_ fd: Int32, _ key: AuthKey, _ deadline: UInt64, _ peer: String) throws(ChannelError) -> [UInt8] {
        let m = try readMessage(fd, deadline, peer)
        guard m.starts(with: challenge) else {
            throw ChannelError(.handshakeFailed, "\(peer): the peer sent \(m.count) bytes that are not a key challenge: not a Forkline peer")
        }
        let message = Array(m.dropFirst(challenge.count))
        guard message.starts(with: digestTag), message.count >= digestTag.count + 20 else {
            throw ChannelError(.handshakeFailed, "\(peer): the peer's challenge does not ask for an HMAC-SHA256 of at least 20 random bytes")
        }
        try writeMessage(fd, digestTag + HMACSHA256.mac(key: key.bytes, message: message), peer)
        let verdict = try readMessage(fd, deadline, peer)
        if verdict == welcome { return message }
        if verdict == failure {
            throw ChannelError(.authenticationFailed, "\(peer): the peer rejected our answer to its key challenge: the two ends hold different keys")
        }
        throw ChannelError(.handshakeFailed, "\(peer): the peer answered with \(verdict.count) bytes that are neither welcome nor failure")
    }

    static func writeMessage(_ fd: Int32, _ body: [UInt8], _ peer: String) throws(ChannelError) {
        let n = UInt32(body.count)
        let bytes = [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + body
        if let e = bytes.withUnsafeBytes({ Syscall.writeAll(fd, $0) }) {
            throw ChannelError(.handshakeFailed, "\(peer): the peer closed the connection during the handshake (write: \(e))", syscall: "write", errno: e.rawValue)
        }
    }

    /// One handshake message, by `deadline` (CLOCK_MONOTONIC ns).
    static func readMessage(_ fd: Int32, _ deadline: UInt64, _ peer: String) throws(ChannelError) -> [UInt8] {
        let head = try readExactly(fd, 4, deadline, peer)
        let length = Int32(bitPattern: UInt32(head[0]) << 24 | UInt32(head[1]) << 16 | UInt32(head[2]) << 8 | UInt32(head[3]))
        guard length >= 0, Int(length) <= largest else {
            throw ChannelError(.handshakeFailed, "\(peer): the peer announced a handshake message of \(UInt32(bitPattern: length)) bytes, over the limit of \(largest): not a Forkline peer")
        }
        return try readExactly(fd, Int(length), deadline, peer)
    }

    static func readExactly(_ fd: Int32, _ count: Int, _ deadline: UInt64, _ peer: String) throws(ChannelError) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let now = fl_monotonic_ns()
            guard now < deadline else {
                throw ChannelError(.handshakeTimedOut, "\(peer): the peer did not complete the key handshake in time (\(got) of \(count) bytes of a message came)")
            }
            var p = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            let ms = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            guard case .success(let ready) = Syscall.poll(&p, timeoutMs: ms) else { continue }
            if ready == 0 { continue }
            let r = out.withUnsafeMutableBytes { Syscall.read(fd, into: UnsafeMutableRawBufferPointer(rebasing: $0[got...])) }
            switch r {
            case .success(0):
                throw ChannelError(.handshakeFailed, "\(peer): the peer closed the connection in the middle of the key handshake")
            case .success(let n): got += n
            case .failure(let e):
                throw ChannelError(.handshakeFailed, "\(peer): the connection failed during the key handshake: read: \(e)", syscall: "read", errno: e.rawValue)
            }
        }
        return out
    }
}
