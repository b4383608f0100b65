import ForklineSystem

/// One end of a shared-key handshake as a pure state machine: it is fed the bytes the peer sent
/// and says what to send back, so one blocking caller (``Client``) and one thread serving many
/// pending handshakes at once (``Listener``) run the same protocol (``Handshake``).
///
/// It never asks for more bytes than the message it is reading still lacks (``wanted``): the
/// bytes after the last handshake message are the connection's first frame and stay in the socket.
struct HandshakeMachine {
    enum Role { case listener, client }
    enum Stage { case awaitChallenge, awaitVerdict, awaitAnswer, finished }

    let role: Role
    let key: AuthKey
    /// Who the peer is, for the errors.
    let peer: String
    private(set) var stage: Stage
    /// The ending, once there is one (``wanted`` is then 0).
    private(set) var outcome: Result<UInt64, ChannelError>?
    /// Bytes to write to the peer now (framed messages).
    private(set) var outbox: [UInt8] = []
    /// The message being read: its 4-byte length first, then its body.
    private var message: [UInt8] = []
    private var bodyLength: Int?
    /// The challenge this end sent, and the peer's: they make the channel id.
    private var mine: [UInt8] = []
    private var theirs: [UInt8] = []

    init(role: Role, key: AuthKey, peer: String) {
        self.role = role
        self.key = key
        self.peer = peer
        if role == .listener {
            stage = .awaitAnswer
            deliver()
        } else {
            stage = .awaitChallenge
        }
    }

    /// How many bytes the message being read still lacks (0 once finished).
    var wanted: Int {
        if outcome != nil { return 0 }
        return (bodyLength.map { 4 + $0 } ?? 4) - message.count
    }

    /// Takes the bytes to write (the caller writes all of them before reading again).
    mutating func takeOutbox() -> [UInt8] {
        defer { outbox = [] }
        return outbox
    }

    /// Feeds bytes read from the peer: at most ``wanted`` of them.
    mutating func received(_ bytes: some Collection<UInt8>) {
        precondition(bytes.count <= wanted, "forkline: a handshake was fed more bytes than it asked for")
        message += bytes
        if bodyLength == nil, message.count == 4 {
            let length = Int32(bitPattern: UInt32(message[0]) << 24 | UInt32(message[1]) << 16 | UInt32(message[2]) << 8 | UInt32(message[3]))
            guard length >= 0, Int(length) <= Handshake.largest else {
                return fail(.handshakeFailed, "the peer announced a handshake message of \(UInt32(bitPattern: length)) bytes, over the limit of \(Handshake.largest): not a Forkline peer")
            }
            bodyLength = Int(length)
        }
        guard let n = bodyLength, message.count == 4 + n else { return }
        let body = Array(message.dropFirst(4))
        message = []
        bodyLength = nil
        handle(body)
    }

    /// The peer closed its end (a read returned 0).
    mutating func peerClosed() {
        fail(.handshakeFailed, "the peer closed the connection in the middle of the key handshake")
    }

    /// The peer could not be written to or read from.
    mutating func connectionFailed(_ call: String, _ errno: Int32, _ what: String) {
        guard outcome == nil else { return }
        outcome = .failure(ChannelError(.handshakeFailed, "\(peer): \(what) during the key handshake (\(call): errno \(errno))", syscall: call, errno: errno))
    }

    /// The deadline passed before the handshake ended.
    mutating func timedOut() {
        let expected = bodyLength.map { 4 + $0 } ?? 4
        fail(.handshakeTimedOut, "the peer did not complete the key handshake in time (\(message.count) of \(expected) bytes of a message came)")
    }

    private mutating func handle(_ m: [UInt8]) {
        switch stage {
        case .awaitAnswer:
            let expected = Handshake.digestTag + HMACSHA256.mac(key: key.bytes, message: mine)
            guard HMACSHA256.constantTimeEqual(m, expected) else {
                enqueue(Handshake.failure)
                return fail(.authenticationFailed, "the peer's answer to the key challenge is wrong: it does not hold this key; the connection is refused")
            }
            enqueue(Handshake.welcome)
            if role == .listener { stage = .awaitChallenge } else { finish() }
        case .awaitChallenge:
            guard m.starts(with: Handshake.challenge) else {
                return fail(.handshakeFailed, "the peer sent \(m.count) bytes that are not a key challenge: not a Forkline peer")
            }
            let challenge = Array(m.dropFirst(Handshake.challenge.count))
            guard challenge.starts(with: Handshake.digestTag), challenge.count >= Handshake.digestTag.count + 20 else {
                return fail(.handshakeFailed, "the peer's challenge does not ask for an HMAC-SHA256 of at least 20 random bytes (a Python peer before 3.12 asks for HMAC-MD5, which is refused: docs/cluster.md)")
            }
            theirs = challenge
            enqueue(Handshake.digestTag + HMACSHA256.mac(key: key.bytes, message: challenge))
            stage = .awaitVerdict
        case .awaitVerdict:
            if m == Handshake.failure {
                return fail(.authenticationFailed, "the peer rejected our answer to its key challenge: the two ends hold different keys")
            }
            guard m == Handshake.welcome else {
                return fail(.handshakeFailed, "the peer answered with \(m.count) bytes that are neither welcome nor failure")
            }
            if role == .client {
                stage = .awaitAnswer
                deliver()
            } else {
                finish()
            }
        case .finished:
            break
        }
    }

    /// Sends a fresh challenge.
    private mutating func deliver() {
        var g = SystemRandomNumberGenerator()
        mine = Handshake.digestTag + (0..<Handshake.nonceLength).map { _ in UInt8.random(in: 0...255, using: &g) }
        enqueue(Handshake.challenge + mine)
    }

    private mutating func finish() {
        stage = .finished
        // The listener's challenge first: the same id at both ends.
        outcome = .success(role == .listener ? Handshake.channel(mine, theirs) : Handshake.channel(theirs, mine))
    }

    private mutating func enqueue(_ body: [UInt8]) {
        let n = UInt32(body.count)
        outbox += [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)] + body
    }

    private mutating func fail(_ code: ChannelError.Code, _ why: String) {
        guard outcome == nil else { return }
        stage = .finished
        outcome = .failure(ChannelError(code, "\(peer): \(why)"))
    }
}
