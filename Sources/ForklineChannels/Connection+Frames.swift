import CForkline
import ForklineSpawn
import ForklineTrace
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// A frame being received: its header bytes, then its payload, as far as they have arrived. It
/// lives in the connection's receive lock, so a receive that stopped half way (a cancelled async
/// receive) leaves the stream where the next receive goes on.
struct PartialFrame {
    var head = [UInt8](repeating: 0, count: FrameHeader.size)
    var headGot = 0
    var header: FrameHeader?
    var payload: [UInt8] = []
    var payloadGot = 0
}

extension Connection {
    enum FrameStep {
        case frame([UInt8], FrameHeader)
        case end
        /// Nothing more to read without blocking (only when `blocking` is false).
        case wouldBlock
    }

    /// Reads on from where `p` stands until a whole frame is in: with blocking reads, or
    /// (`blocking` false) only what has arrived. Records the `recv` event for a whole frame.
    func advance(_ p: inout PartialFrame, blocking: Bool) throws(ChannelError) -> FrameStep {
        while true {
            if let header = p.header {
                if p.payloadGot == p.payload.count {
                    let payload = p.payload
                    p = PartialFrame()
                    Tracer.recordWords(.recv, channel, header.senderPuid, header.sendSeq, UInt64(header.length))
                    return .frame(payload, header)
                }
                let n = p.payload.withUnsafeMutableBytes { b in
                    readSome(b.baseAddress! + p.payloadGot, b.count - p.payloadGot, blocking: blocking)
                }
                switch n {
                case .bytes(let k): p.payloadGot += k
                case .wouldBlock: return .wouldBlock
                case .eof: throw broken(.truncatedFrame, "the peer closed the connection in the middle of a \(header.length)-byte message")
                case .error(let e): throw readFailed(e)
                }
            } else {
                let n = p.head.withUnsafeMutableBytes { b in
                    readSome(b.baseAddress! + p.headGot, b.count - p.headGot, blocking: blocking)
                }
                switch n {
                case .bytes(let k): p.headGot += k
                case .wouldBlock: return .wouldBlock
                case .eof:
                    if p.headGot == 0 { return .end }
                    throw broken(.truncatedFrame, "the peer closed the connection in the middle of a frame header")
                case .error(let e): throw readFailed(e)
                }
                guard p.headGot == FrameHeader.size else { continue }
                guard let header = p.head.withUnsafeBytes({ FrameHeader.decode($0) }) else {
                    throw broken(.corruptFrame, "received bytes that are not a Forkline frame (bad magic or header checksum)")
                }
                guard Int(header.length) <= maxMessageSize else {
                    throw broken(.oversizedFrame, "a frame announces \(header.length) bytes, over the limit of \(maxMessageSize)")
                }
                p.header = header
                p.payload = [UInt8](repeating: 0, count: Int(header.length))
            }
        }
    }

    enum ReadSome { case bytes(Int), eof, wouldBlock, error(Int32) }

    /// One read of up to `count` bytes: blocking, or only what is there (`fl_read_nowait`, which
    /// leaves O_NONBLOCK, shared with every process holding this end, alone).
    func readSome(_ into: UnsafeMutableRawPointer, _ count: Int, blocking: Bool) -> ReadSome {
        while true {
            let n: Int
            if blocking {
                switch Syscall.read(readFD, into: UnsafeMutableRawBufferPointer(start: into, count: count), closable: true) {
                case .success(let got): n = got
                case .failure(let e): return .error(e.rawValue)
                }
            } else {
                // A read end without a write end is a pipe's (`pipe(duplex: false)`).
                n = writeFD < 0 ? fl_pipe_read_nowait(readFD, into, count) : fl_read_nowait(readFD, into, count)
                if n == -Int(EAGAIN) { return .wouldBlock }
                if n < 0 { return .error(Int32(-n)) }
            }
            return n == 0 ? .eof : .bytes(n)
        }
    }

    func readFailed(_ e: Int32) -> ChannelError {
        if e == EBADF, isClosed { return ChannelError(.closed, "\(label): cannot receive: this end is closed") }
        return ChannelError(.systemCallFailed, "\(label): read failed: \(String(cString: strerror(e)))", syscall: "read", errno: e)
    }

    /// Receives one frame without blocking a thread: takes the receive lock and waits for bytes
    /// through the ``AsyncBridge``; ``close()`` and task cancellation end the wait (throwing).
    func receiveFrameAsync() async throws(ChannelError) -> ([UInt8], FrameHeader)? {
        try usable(readFD, "receive")
        noteOpen()
        do throws(WaitFailure) { try await recvLock.acquire(group: waits) } catch { throw ChannelError(waiting: error, label) }
        defer { recvLock.release() }
        var began = false
        while true {
            let step: FrameStep
            do throws(ChannelError) {
                try usable(readFD, "receive")
                step = try recvLock.withAcquired { (p) throws(ChannelError) in try advance(&p, blocking: false) }
            } catch {
                Tracer.waitEnd(began, .channel, channel, .failed)
                throw error
            }
            switch step {
            case .frame(let bytes, let header):
                Tracer.waitEnd(began, .channel, channel, .done)
                return (bytes, header)
            case .end:
                Tracer.waitEnd(began, .channel, channel, .failed)
                return nil
            case .wouldBlock:
                if !began { began = Tracer.waitBegin(.channel, channel) }
                do throws(WaitFailure) { try await AsyncBridge.shared().waitReadable(readFD, group: waits) } catch {
                    Tracer.waitEnd(began, .channel, channel, .failed)
                    throw ChannelError(waiting: error, label)
                }
            }
        }
    }
}

extension ChannelError {
    /// The error an async wait of a channel throws when the bridge ended it.
    init(waiting failure: WaitFailure, _ label: String) {
        switch failure {
        case .cancelled: self.init(.cancelled, "\(label): the waiting task was cancelled")
        case .closed: self.init(.closed, "\(label): this end was closed while a task waited on it")
        case .monitorFailed(let call, let e):
            self.init(.systemCallFailed, "\(label): the async wait monitor failed: \(call): \(String(cString: strerror(e)))", syscall: call, errno: e)
        case .systemCallFailed(let call, let e):
            self.init(.systemCallFailed, "\(label): cannot wait: \(call): \(String(cString: strerror(e)))", syscall: call, errno: e)
        }
    }
}
