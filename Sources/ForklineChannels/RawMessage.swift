/// A message as it arrived, not decoded: its bytes and the encoding and type its sender gave it.
/// Sending it on (``Connection/send(_:)``) keeps them, so the far end's `receive([Double].self)`
/// decodes it as if it came from the first sender (`receiveBytes` + `sendBytes` lose the type:
/// that receive then fails). Python relays a pickle untouched the same way.
public struct RawMessage: Sendable, Hashable {
    /// The payload, as encoded by its sender.
    public let bytes: [UInt8]
    let type: UInt8
    let tag: UInt32
}

extension Connection {
    /// Receives the next message without decoding it; nil when the peer closed.
    ///
    /// - Throws: as ``receive(_:)``.
    @available(*, noasync, message: "use the async receiveRaw")
    public func receiveRaw() throws(ChannelError) -> RawMessage? {
        guard let (bytes, header) = try receiveFrame() else { return nil }
        return RawMessage(bytes: bytes, type: header.type, tag: header.tag)
    }

    /// Suspends until a message arrives and returns it undecoded; nil when the peer closed.
    public func receiveRaw() async throws(ChannelError) -> RawMessage? {
        guard let (bytes, header) = try await receiveFrameAsync() else { return nil }
        return RawMessage(bytes: bytes, type: header.type, tag: header.tag)
    }

    /// Sends a received message on, untouched (its encoding and type travel with it).
    public func send(_ message: RawMessage) throws(ChannelError) {
        var failure: ChannelError?
        message.bytes.withUnsafeBytes { b in
            do throws(ChannelError) { try sendFrame(b, type: message.type, tag: message.tag) } catch { failure = error }
        }
        if let failure { throw failure }
    }
}
