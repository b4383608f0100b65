import CForkline
import ForklineSystem
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

    /// Suspends until a value arrives (or the peer closes: nil) without blocking a thread, even
    /// while the rest of a frame trickles in.
    ///
    /// - Throws: as the blocking ``receive(_:)``, and `closed` when this end is closed while the
    ///   task waits, `cancelled` when the task is cancelled (a frame half received stays for the
    ///   next receive), `systemCallFailed` when the async bridge failed.
    public func receive<T: Decodable>(_ type: T.Type = T.self) async throws(ChannelError) -> T? {
        guard let (bytes, header) = try await receiveFrameAsync() else { return nil }
        return try decode(bytes, header, as: T.self)
    }

    /// Suspends until bytes arrive (or the peer closes: nil). Throws as ``receive(_:)``.
    public func receiveBytes() async throws(ChannelError) -> [UInt8]? {
        try await receiveFrameAsync()?.0
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
        let ms: Int32 = timeout?.clampedMilliseconds ?? -1
        guard case .success(let r) = Syscall.poll(&fds, timeoutMs: ms), r > 0 else { return [] }
        return zip(connections, fds).filter { $0.1.revents != 0 }.map(\.0)
    }

    /// Decodes a frame's payload as a `T` by the frame's type (docs/channels.md, "Encoding").
    func decode<T: Decodable>(_ bytes: [UInt8], _ header: FrameHeader, as: T.Type) throws(ChannelError) -> T {
        if UInt32(header.type) == MessageCodec.plain {
            if !_isPOD(T.self) || header.tag != FrameHeader.fingerprint(T.self) {
                throw ChannelError(.encoding, "\(label): the message is plain data of another type than \(T.self) (\(bytes.count) bytes)")
            }
            // The usual plain value read here: this generic code is not specialised (it is not
            // inlinable), and MessageCodec's array path made a `Result<T, _>` and a `T?` at run
            // time (their metadata looked up on each receive: ~2,900 instructions an Int).
            if bytes.count == MemoryLayout<T>.size, bytes.count > 0 {
                return bytes.withUnsafeBytes { $0.loadUnaligned(as: T.self) }
            }
        }
        return try MessageCodec.decode(bytes, type: UInt32(header.type), as: T.self, label: label)
    }

    /// Reads one frame, blocking; nil on a clean end of stream.
    func receiveFrame() throws(ChannelError) -> ([UInt8], FrameHeader)? {
        try usable(readFD, "receive")
        noteOpen()
        return try recvLock.withLock { (p) throws(ChannelError) -> ([UInt8], FrameHeader)? in
            switch try advanceWaiting(&p) {
            case .frame(let bytes, let header): return (bytes, header)
            case .end, .wouldBlock: return nil
            }
        }
    }

    /// Closes this end (its stream is lost) and makes the error.
    func broken(_ code: ChannelError.Code, _ why: String) -> ChannelError {
        close()
        return ChannelError(code, "\(label): \(why); the connection is closed")
    }
}
