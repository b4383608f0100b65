import CForkline
import FoundationEssentials
import ForklineSpawn
import ForklineTrace
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// One end of a pipe between processes: Python's `multiprocessing.connection.Connection`.
///
/// Make a pair with ``pipe(duplex:maxMessageSize:)``, give one end to a child, and send Codable
/// values or raw bytes as length-prefixed frames. When the peer closes its end, `receive` returns
/// nil. A corrupt, truncated or oversized frame is a ``ChannelError`` naming the connection, and
/// the connection is closed (the stream cannot be resynchronised).
///
/// Every send and receive is traced: the frame carries the sender's `send` event id, and the
/// receiver's `recv` event names it, so `replay` proves which send each receive got.
public final class Connection: @unchecked Sendable {
    // @unchecked: the descriptors are immutable until `close`, which takes `state`; sends and
    // receives each take their own sleeping lock, so one thread (or task) at a time writes or
    // reads a frame; a frame half read when its receiver was cancelled waits in `recvLock`.
    /// The channel's id, shared by both ends (in traces).
    public let channel: UInt64
    /// The largest payload this end accepts.
    public let maxMessageSize: Int
    let readFD: Int32
    let writeFD: Int32
    let state = ForkSafeLock(State())
    /// Held across a whole frame's write, which can block on a full pipe: a second sender sleeps.
    let sendLock = SleepingLock(())
    /// Held across a frame's read; holds the frame read so far.
    let recvLock = SleepingLock(PartialFrame())
    /// The async waits in progress on this end: ``close()`` resumes them (throwing `closed`).
    let waits = WaitGroup()

    struct State {
        var closed = false
        var opened = false
    }

    /// The other end's address, for a connection made by a ``Listener`` or ``Client``.
    public let peerAddress: NetworkAddress?

    init(channel: UInt64, readFD: Int32, writeFD: Int32, maxMessageSize: Int, peer: NetworkAddress? = nil) {
        self.channel = channel
        self.readFD = readFD
        self.writeFD = writeFD
        self.maxMessageSize = maxMessageSize
        self.peerAddress = peer
    }

    deinit { close() }

    /// Makes a connected pair. Duplex (the default): both ends send and receive (a socket pair).
    /// One-way: the first end only receives, the second only sends (a pipe), as in Python.
    ///
    /// - Throws: ``ChannelError`` when the kernel has no descriptors left.
    public static func pipe(duplex: Bool = true, maxMessageSize: Int = 64 << 20) throws(ChannelError) -> (Connection, Connection) {
        let channel = UInt64.random(in: 1...UInt64.max)
        var fds: [Int32] = [-1, -1]
        if duplex {
            let (a, b): (Int32, Int32)
            switch Syscall.socketPair() {
            case .success(let p): (a, b) = p
            case .failure(let e):
                throw ChannelError(.systemCallFailed, "creating a duplex pipe: socketpair failed: \(e)", syscall: "socketpair", errno: e.rawValue)
            }
            return (Connection(channel: channel, readFD: a, writeFD: a, maxMessageSize: maxMessageSize),
                    Connection(channel: channel, readFD: b, writeFD: b, maxMessageSize: maxMessageSize))
        }
        let rc = fds.withUnsafeMutableBufferPointer { fl_pipe_cloexec($0.baseAddress!) }
        if rc != 0 { throw ChannelError(.systemCallFailed, "creating a pipe: pipe2 failed: \(String(cString: strerror(-rc)))", syscall: "pipe2", errno: -rc) }
        return (Connection(channel: channel, readFD: fds[0], writeFD: -1, maxMessageSize: maxMessageSize),
                Connection(channel: channel, readFD: -1, writeFD: fds[1], maxMessageSize: maxMessageSize))
    }

    /// The descriptors of this end, for ``ChildOptions/inheritedDescriptors`` of a fork child.
    public var fileDescriptors: [Int32] { Array(Set([readFD, writeFD].filter { $0 >= 0 })) }

    /// A name for messages: the channel and descriptor.
    public var label: String {
        "connection \(hex16(channel)) (fd \(readFD >= 0 ? readFD : writeFD)\(peerAddress.map { ", peer \($0)" } ?? ""))"
    }

    /// Closes this end; the peer's `receive` then returns nil.
    public func close() {
        guard markClosed() else { return }
        waits.close()
        closeDescriptors()
        Tracer.record(.channelClose, [.uint(channel)])
    }

    /// Marks the connection closed; true the first time only.
    private func markClosed() -> Bool {
        state.withLock { s in
            defer { s.closed = true }
            return !s.closed
        }
    }

    private func closeDescriptors() {
        if readFD >= 0 { _ = Glibc.close(readFD) }
        if writeFD >= 0 && writeFD != readFD { _ = Glibc.close(writeFD) }
    }

    /// Closes this process's copies of the descriptors of a connection that is another
    /// process's (a fork child's copy of one its parent had not handed out yet): nothing is
    /// recorded, since the connection is not this process's to close.
    func closeCopyInForkChild() {
        if markClosed() { closeDescriptors() }
    }

    /// True once ``close()`` was called (or a broken frame closed it).
    public var isClosed: Bool { state.withLock { $0.closed } }

    func noteOpen() {
        let first = state.withLock { s in
            defer { s.opened = true }
            return !s.opened
        }
        if first { Tracer.record(.channelOpen, [.uint(channel), .uint(readFD == writeFD ? 2 : (readFD >= 0 ? 0 : 1))]) }
    }

    func usable(_ fd: Int32, _ what: String) throws(ChannelError) {
        if state.withLock({ $0.closed }) { throw ChannelError(.closed, "\(label): cannot \(what): this end is closed") }
        if fd < 0 { throw ChannelError(.closed, "\(label): cannot \(what) on this end of a one-way pipe") }
    }
}
