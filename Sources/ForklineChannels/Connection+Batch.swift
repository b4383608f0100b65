import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// Bytes read from a connection ahead of the frames they hold, for
/// ``Connection/receiveAvailable(_:)``.
package struct FrameBuffer: Sendable {
    var bytes: [UInt8] = []
    var start = 0
    var scratch = [UInt8](repeating: 0, count: 64 << 10)

    package init() {}
}

extension Connection {
    /// Receives every complete frame that has arrived, with one non-blocking read of what the
    /// socket holds: the reader of many small messages pays one system call per batch instead
    /// of two per message. Returns the payloads in order (none when only part of a frame has
    /// arrived), or nil at a clean end of stream. Every frame is traced as a `recv`, as
    /// ``receiveBytes()`` does. Do not mix with the other receive calls on one connection.
    ///
    /// - Throws: ``ChannelError`` as ``receiveBytes()`` (a broken frame closes the connection).
    package func receiveAvailable(_ buffer: inout FrameBuffer) throws(ChannelError) -> [[UInt8]]? {
        try usable(readFD, "receive")
        noteOpen()
        if buffer.start > 0 && buffer.start * 2 >= buffer.bytes.count {
            buffer.bytes.removeFirst(buffer.start)
            buffer.start = 0
        }
        var n = 0
        switch buffer.scratch.withUnsafeMutableBytes({ Syscall.receive(readFD, into: $0, flags: Int32(MSG_DONTWAIT), closable: true) }) {
        case .success(let got):
            n = got
            if n > 0 { buffer.bytes.append(contentsOf: buffer.scratch[0..<n]) }
        case .failure(let e) where e.rawValue == EAGAIN || e.rawValue == EWOULDBLOCK: return []
        case .failure(let e) where e.rawValue == ECONNRESET: n = 0
        case .failure(let e):
            throw ChannelError(.systemCallFailed, "\(label): read failed: \(e)", syscall: "recv", errno: e.rawValue)
        }
        var frames: [[UInt8]] = []
        while buffer.bytes.count - buffer.start >= FrameHeader.size {
            let at = buffer.start
            guard let header = buffer.bytes.withUnsafeBytes({ FrameHeader.decode(UnsafeRawBufferPointer(rebasing: $0[at..<(at + FrameHeader.size)])) }) else {
                throw broken(.corruptFrame, "received bytes that are not a Forkline frame (bad magic or header checksum)")
            }
            guard Int(header.length) <= maxMessageSize else {
                throw broken(.oversizedFrame, "a frame announces \(header.length) bytes, over the limit of \(maxMessageSize)")
            }
            let end = at + FrameHeader.size + Int(header.length)
            guard end <= buffer.bytes.count else { break }
            frames.append(Array(buffer.bytes[(at + FrameHeader.size)..<end]))
            buffer.start = end
            Tracer.recordWords(.recv, channel, header.senderPuid, header.sendSeq, UInt64(header.length))
        }
        if n == 0 {
            if buffer.start < buffer.bytes.count {
                throw broken(.truncatedFrame, "the peer closed the connection in the middle of a frame")
            }
            return frames.isEmpty ? nil : frames
        }
        return frames
    }
}
