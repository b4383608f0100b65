import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// Bytes read from a connection ahead of the frames they hold, for
/// ``Connection/receiveAvailable(_:)``: `bytes[start..<end]` are read and not yet handed out.
/// The reads go straight into the free room after `end`, sized for the frame in progress, so a
/// large frame is read in a few system calls and copied once more (when it is handed out).
package struct FrameBuffer: Sendable {
    var bytes = [UInt8](repeating: 0, count: 64 << 10)
    var start = 0
    var end = 0

    package init() {}

    /// Makes room for at least `want` more bytes after `end`: moves the unread bytes to the front,
    /// and grows when they and `want` do not fit.
    mutating func reserve(_ want: Int) {
        let unread = end - start
        if start > 0 && (bytes.count - end < want || unread == 0) {
            if unread > 0 {
                bytes.withUnsafeMutableBytes { b in
                    (b.baseAddress!).copyMemory(from: b.baseAddress! + start, byteCount: unread)
                }
            }
            start = 0
            end = unread
        }
        if bytes.count - end < want {
            var grown = [UInt8](repeating: 0, count: max(bytes.count * 2, end + want))
            grown.withUnsafeMutableBytes { g in
                bytes.withUnsafeBytes { b in
                    if end > 0 { g.baseAddress!.copyMemory(from: b.baseAddress!, byteCount: end) }
                }
            }
            bytes = grown
        }
    }
}

extension Connection {
    /// Receives every complete frame that has arrived, with non-blocking reads of what the
    /// socket holds: the reader of many small messages pays one system call per batch instead
    /// of two per message, and a large frame is read whole while its bytes keep coming. Returns
    /// the payloads in order (none when only part of a frame has arrived), or nil at a clean end
    /// of stream. Every frame is traced as a `recv`, as ``receiveBytes()`` does. Do not mix with
    /// the other receive calls on one connection.
    ///
    /// - Throws: ``ChannelError`` as ``receiveBytes()`` (a broken frame closes the connection).
    package func receiveAvailable(_ buffer: inout FrameBuffer) throws(ChannelError) -> [[UInt8]]? {
        try usable(readFD, "receive")
        noteOpen()
        var frames: [[UInt8]] = []
        var ended = false
        while true {
            // What the frame in progress still needs (or a usual batch of small ones).
            var want = 64 << 10
            if buffer.end - buffer.start >= FrameHeader.size,
               let header = buffer.bytes.withUnsafeBytes({ FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[buffer.start..<(buffer.start + FrameHeader.size)])) }),
               Int(header.length) <= maxMessageSize {
                want = max(want, FrameHeader.size + Int(header.length) - (buffer.end - buffer.start))
            }
            buffer.reserve(want)
            let end = buffer.end
            let got: Int
            switch buffer.bytes.withUnsafeMutableBytes({ b in
                Syscall.receive(readFD, into: UnsafeMutableRawBufferPointer(rebasing: b[end...]), flags: Int32(MSG_DONTWAIT), closable: true)
            }) {
            case .success(let n): got = n
            case .failure(let e) where e.rawValue == EAGAIN || e.rawValue == EWOULDBLOCK: got = -1
            case .failure(let e) where e.rawValue == ECONNRESET: got = 0
            case .failure(let e):
                throw ChannelError(.systemCallFailed, "\(label): read failed: \(e)", syscall: "recv", errno: e.rawValue)
            }
            if got > 0 { buffer.end += got }
            let before = frames.count
            while buffer.end - buffer.start >= FrameHeader.size {
                let at = buffer.start
                guard let header = buffer.bytes.withUnsafeBytes({ FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[at..<(at + FrameHeader.size)])) }) else {
                    throw broken(.corruptFrame, "received bytes that are not a Forkline frame (bad magic or header checksum)")
                }
                guard Int(header.length) <= maxMessageSize else {
                    throw broken(.oversizedFrame, "a frame announces \(header.length) bytes, over the limit of \(maxMessageSize)")
                }
                let frameEnd = at + FrameHeader.size + Int(header.length)
                guard frameEnd <= buffer.end else { break }
                frames.append(Array(buffer.bytes[(at + FrameHeader.size)..<frameEnd]))
                buffer.start = frameEnd
                Tracer.recordWords(.recv, channel, header.senderPuid, header.sendSeq, UInt64(header.length))
            }
            if got == 0 { ended = true; break }
            // Nothing more now, or whole frames to hand over: done. A frame still arriving: read on.
            if got < 0 || frames.count > before || buffer.end == buffer.start { break }
        }
        if ended {
            if buffer.start < buffer.end {
                throw broken(.truncatedFrame, "the peer closed the connection in the middle of a frame")
            }
            return frames.isEmpty ? nil : frames
        }
        return frames
    }
}
