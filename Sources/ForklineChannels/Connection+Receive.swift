import CForkline
import FoundationEssentials
import ForklineSpawn
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

extension Connection {
    /// Receives a Codable value; nil when the peer closed its end (a clean end, not an error).
    ///
    /// - Throws: ``ChannelError``: `corruptFrame`, `truncatedFrame`, `oversizedFrame` (each also
    ///   closes this end), `encoding` when the message is not a `T`, `closed`.
    @available(*, noasync, message: "use the async receive")
    public func receive<T: Decodable>(_ type: T.Type = T.self) throws(ChannelError) -> T? {
        guard let (bytes, header) = try receiveFrame() else { return nil }
        return try decode(bytes, header, as: T.self)
    }

    /// Receives raw bytes; nil when the peer closed its end.
    @available(*, noasync, message: "use the async receiveBytes")
    public func receiveBytes() throws(ChannelError) -> [UInt8]? {
        try receiveFrame()?.0
    }

    /// Suspends until a value arrives (or the peer closes: nil) without blocking a thread.
    public func receive<T: Decodable>(_ type: T.Type = T.self) async throws(ChannelError) -> T? {
        try usable(readFD, "receive")
        while !poll(timeout: .zero) { await ReadinessMonitor.shared().waitReadable(readFD) }
        guard let (bytes, header) = try receiveFrame() else { return nil }
        return try decode(bytes, header, as: T.self)
    }

    /// Suspends until bytes arrive (or the peer closes: nil).
    public func receiveBytes() async throws(ChannelError) -> [UInt8]? {
        try usable(readFD, "receive")
        while !poll(timeout: .zero) { await ReadinessMonitor.shared().waitReadable(readFD) }
        return try receiveFrame()?.0
    }

    /// True when a message (or the end) can be received without blocking, within `timeout`
    /// (nil: wait forever).
    public func poll(timeout: Duration? = .zero) -> Bool {
        guard readFD >= 0, !isClosed else { return false }
        return Connection.wait([self], timeout: timeout).count == 1
    }

    /// The connections that can be received from without blocking, waiting up to `timeout` for
    /// at least one (nil: forever). Python's `multiprocessing.connection.wait`.
    public static func wait(_ connections: [Connection], timeout: Duration?) -> [Connection] {
        var fds = connections.map { pollfd(fd: $0.isClosed ? -1 : $0.readFD, events: Int16(POLLIN), revents: 0) }
        let ms: Int32 = timeout.map { d in
            let (s, a) = d.components
            return Int32(clamping: max(0, s) * 1000 + max(0, a) / 1_000_000_000_000_000)
        } ?? -1
        var r: Int32
        repeat { r = Glibc.poll(&fds, nfds_t(fds.count), ms) } while r < 0 && errno == EINTR
        guard r > 0 else { return [] }
        return zip(connections, fds).filter { $0.1.revents != 0 }.map(\.0)
    }

    /// Decodes a frame's payload as a `T` by the frame's type (docs/channels.md, "Encoding").
    func decode<T: Decodable>(_ bytes: [UInt8], _ header: FrameHeader, as: T.Type) throws(ChannelError) -> T {
        if UInt32(header.type) == MessageCodec.plain, !_isPOD(T.self) || header.tag != FrameHeader.fingerprint(T.self) {
            throw ChannelError(.encoding, "\(label): the message is plain data of another type than \(T.self) (\(bytes.count) bytes)")
        }
        return try MessageCodec.decode(bytes, type: UInt32(header.type), as: T.self, label: label)
    }

    /// Reads one frame; nil on a clean end of stream.
    func receiveFrame() throws(ChannelError) -> ([UInt8], FrameHeader)? {
        try usable(readFD, "receive")
        noteOpen()
        return try recvLock.withLock { _ throws(ChannelError) -> ([UInt8], FrameHeader)? in
            var head = [UInt8](repeating: 0, count: FrameHeader.size)
            switch readExactly(&head, FrameHeader.size) {
            case .eof(0): return nil
            case .eof: throw broken(.truncatedFrame, "the peer closed the connection in the middle of a frame header")
            case .error(let e): throw ChannelError(.systemCallFailed, "\(label): read failed: \(String(cString: strerror(e)))", syscall: "read", errno: e)
            case .ok: break
            }
            guard let header = head.withUnsafeBytes({ FrameHeader.decode($0) }) else {
                throw broken(.corruptFrame, "received bytes that are not a Forkline frame (bad magic or header checksum)")
            }
            guard Int(header.length) <= maxMessageSize else {
                throw broken(.oversizedFrame, "a frame announces \(header.length) bytes, over the limit of \(maxMessageSize)")
            }
            var payload = [UInt8](repeating: 0, count: Int(header.length))
            switch readExactly(&payload, payload.count) {
            case .ok: break
            case .eof: throw broken(.truncatedFrame, "the peer closed the connection in the middle of a \(header.length)-byte message")
            case .error(let e): throw ChannelError(.systemCallFailed, "\(label): read failed: \(String(cString: strerror(e)))", syscall: "read", errno: e)
            }
            Tracer.recordWords(.recv, channel, header.senderPuid, header.sendSeq, UInt64(header.length))
            return (payload, header)
        }
    }

    /// Closes this end (its stream is lost) and makes the error.
    func broken(_ code: ChannelError.Code, _ why: String) -> ChannelError {
        close()
        return ChannelError(code, "\(label): \(why); the connection is closed")
    }

    enum ReadResult { case ok, eof(Int), error(Int32) }

    func readExactly(_ buf: inout [UInt8], _ count: Int) -> ReadResult {
        var got = 0
        while got < count {
            let n = buf.withUnsafeMutableBytes { read(readFD, $0.baseAddress! + got, count - got) }
            if n < 0 {
                if errno == EINTR { continue }
                return .error(errno)
            }
            if n == 0 { return .eof(got) }
            got += n
        }
        return .ok
    }
}
