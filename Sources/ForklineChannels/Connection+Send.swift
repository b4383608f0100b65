import CForkline
import ForklineSystem
import FoundationEssentials
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

extension Connection {
    /// Sends a Codable value: plain data (integers, floats, and structs, enums and optionals of
    /// them) as its bytes with a fingerprint of its type, a `String` as UTF-8, `[UInt8]` as is,
    /// anything else as JSON (docs/channels.md, "Encoding").
    ///
    /// - Throws: ``ChannelError``: `encoding`, `closed`, `peerClosed` (the other end is gone),
    ///   `oversizedFrame` when the encoded value exceeds `maxMessageSize`.
    public func send<T: Encodable>(_ value: T) throws(ChannelError) {
        var failure: ChannelError?
        try MessageCodec.withEncoded(value, label: label) { b, type in
            let tag = type == MessageCodec.plain ? FrameHeader.fingerprint(T.self) : 0
            do throws(ChannelError) { try sendFrame(b, type: UInt8(type), tag: tag) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// Sends raw bytes.
    public func sendBytes(_ bytes: [UInt8]) throws(ChannelError) {
        var failure: ChannelError?
        bytes.withUnsafeBytes { b in
            do throws(ChannelError) { try sendFrame(b, type: 0, tag: 0) } catch { failure = error }
        }
        if let failure { throw failure }
    }

    /// The room to leave at the front of a buffer for ``sendBytes(framed:)``.
    package static var frameHeaderRoom: Int { FrameHeader.size }

    /// Sends `frame` after its first ``frameHeaderRoom`` bytes as raw bytes (as ``sendBytes(_:)``
    /// does), writing the frame's header into that room: a payload built there is not copied
    /// again before the write.
    package func sendBytes(framed frame: inout [UInt8]) throws(ChannelError) {
        precondition(frame.count >= FrameHeader.size, "sendBytes(framed:) needs frameHeaderRoom bytes of room")
        try checkSendable(frame.count - FrameHeader.size)
        try writeFrame(&frame, type: 0, tag: 0)
    }

    /// Makes `frame` (a payload after ``frameHeaderRoom`` bytes of room) ready to be written by
    /// ``sendSome(_:)``: writes its header and records its `send` event, without writing it. For
    /// a writer that never blocks (the pool's driver): it writes sealed frames whole and in order.
    package func seal(framed frame: inout [UInt8]) throws(ChannelError) {
        precondition(frame.count >= FrameHeader.size, "seal(framed:) needs frameHeaderRoom bytes of room")
        let count = frame.count - FrameHeader.size
        try checkSendable(count)
        sendLock.withLock { _ in
            let pending = Tracer.reserve(.send, [.uint(channel), .uint(UInt64(count))])
            let header = FrameHeader(length: UInt32(count), senderPuid: Tracer.processID, sendSeq: pending?.seq ?? 0, type: 0, tag: 0)
            frame.withUnsafeMutableBytes { f in header.encode(into: f.baseAddress!) }
            pending?.commit()
        }
    }

    /// Writes as much of `bytes` (sealed frames, ``seal(framed:)``) as the socket takes now,
    /// without blocking: the count written, 0 when it is full.
    ///
    /// - Throws: ``ChannelError`` `peerClosed` when the other end is gone, `systemCallFailed`.
    package func sendSome(_ bytes: UnsafeRawBufferPointer) throws(ChannelError) -> Int {
        try usable(writeFD, "send")
        guard !bytes.isEmpty else { return 0 }
        switch Syscall.send(writeFD, bytes, flags: Int32(MSG_DONTWAIT)) {
        case .success(let n): return n
        case .failure(let e) where e.rawValue == EAGAIN || e.rawValue == EWOULDBLOCK: return 0
        case .failure(let e) where e.rawValue == EPIPE || e.rawValue == ECONNRESET:
            throw ChannelError(.peerClosed, "\(label): the other end is closed", syscall: "send", errno: e.rawValue)
        case .failure(let e):
            throw ChannelError(.systemCallFailed, "\(label): send failed: \(e)", syscall: "send", errno: e.rawValue)
        }
    }

    /// The descriptor ``sendSome(_:)`` writes to, to wait for room with `poll` (POLLOUT).
    package var sendDescriptor: Int32 { writeFD }

    func sendFrame(_ payload: UnsafeRawBufferPointer, type: UInt8, tag: UInt32) throws(ChannelError) {
        try checkSendable(payload.count)
        // Uninitialised, not zero-filled: the header is written whole by `writeFrame`.
        var frame = [UInt8](unsafeUninitializedCapacity: FrameHeader.size + payload.count) { f, n in
            if payload.count > 0 { (UnsafeMutableRawPointer(f.baseAddress!) + FrameHeader.size).copyMemory(from: payload.baseAddress!, byteCount: payload.count) }
            n = FrameHeader.size + payload.count
        }
        try writeFrame(&frame, type: type, tag: tag)
    }

    func checkSendable(_ count: Int) throws(ChannelError) {
        try usable(writeFD, "send")
        guard count <= maxMessageSize, count <= Int(UInt32.max) else {
            throw ChannelError(.oversizedFrame, "\(label): a \(count)-byte message exceeds the limit of \(maxMessageSize) bytes")
        }
        noteOpen()
    }

    /// Writes the header into the first ``FrameHeader/size`` bytes of `frame`, then the frame.
    func writeFrame(_ frame: inout [UInt8], type: UInt8, tag: UInt32) throws(ChannelError) {
        let count = frame.count - FrameHeader.size
        try sendLock.withLock { _ throws(ChannelError) in
            // The send event is reserved first, so the frame can carry its id.
            let pending = Tracer.reserve(.send, [.uint(channel), .uint(UInt64(count))])
            let header = FrameHeader(length: UInt32(count), senderPuid: Tracer.processID,
                                     sendSeq: pending?.seq ?? 0, type: type, tag: tag)
            frame.withUnsafeMutableBytes { f in header.encode(into: f.baseAddress!) }
            // Committed before the write: a sender killed after writing must not leave its frame
            // naming a send the trace lacks. A write that then fails leaves a send nobody
            // received, which `replay check` reports as a note with the channel's state.
            pending?.commit()
            if let err = frame.withUnsafeBytes({ Syscall.writeAll(writeFD, $0)?.rawValue }) {
                if err == EPIPE || err == ECONNRESET {
                    throw ChannelError(.peerClosed, "\(label): the other end is closed", syscall: "write", errno: err)
                }
                throw ChannelError(.systemCallFailed, "\(label): write failed: \(String(cString: strerror(err)))", syscall: "write", errno: err)
            }
        }
    }
}
