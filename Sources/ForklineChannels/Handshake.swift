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

    /// The client's side, blocking until `deadline`; returns the channel id.
    static func join(_ fd: Int32, key: AuthKey, deadline: UInt64, peer: String) throws(ChannelError) -> UInt64 {
        var m = HandshakeMachine(role: .client, key: key, peer: peer)
        return try run(fd, &m, deadline: deadline).get()
    }

    /// Drives `m` on a blocking socket to its end: writes what it says, reads what it asks for.
    static func run(_ fd: Int32, _ m: inout HandshakeMachine, deadline: UInt64) -> Result<UInt64, ChannelError> {
        while true {
            flush(fd, &m)
            if let o = m.outcome { return o }
            let now = fl_monotonic_ns()
            guard now < deadline else {
                m.timedOut()
                continue
            }
            let ms = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            guard Syscall.waitReadable(fd, timeoutMs: ms) else { continue }
            step(fd, &m)
        }
    }

    /// Writes what `m` has to send (a failure verdict too: the peer should hear it).
    static func flush(_ fd: Int32, _ m: inout HandshakeMachine) {
        let out = m.takeOutbox()
        guard !out.isEmpty, let e = out.withUnsafeBytes({ Syscall.writeAll(fd, $0) }) else { return }
        m.connectionFailed("write", e.rawValue, "the peer closed the connection")
    }

    /// One read of what `m` asks for, on a readable socket.
    static func step(_ fd: Int32, _ m: inout HandshakeMachine) {
        var buf = [UInt8](repeating: 0, count: max(1, m.wanted))
        switch buf.withUnsafeMutableBytes({ Syscall.read(fd, into: $0) }) {
        case .success(0): m.peerClosed()
        case .success(let n): m.received(buf[0..<n])
        case .failure(let e): m.connectionFailed("read", e.rawValue, "the connection failed")
        }
    }

    /// The listener's challenge first, the client's second: the same id at both ends, fresh for
    /// every connection.
    static func channel(_ first: [UInt8], _ second: [UInt8]) -> UInt64 {
        let d = SHA256.hash(first + second)
        let id = d.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return id == 0 ? 1 : id
    }
}
