#if canImport(Glibc)
import Glibc
#endif

/// The error every ForklineChannels operation throws: what failed, on which connection, and why.
/// The peer closing its end is not an error: `receive` returns nil.
public struct ChannelError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let raw: String
        /// A frame header is not a Forkline frame (bad magic or checksum): the stream is lost.
        public static let corruptFrame = Code(raw: "corruptFrame")
        /// A frame announces more bytes than the connection's `maxMessageSize`.
        public static let oversizedFrame = Code(raw: "oversizedFrame")
        /// The peer closed the connection in the middle of a frame.
        public static let truncatedFrame = Code(raw: "truncatedFrame")
        /// This end was closed, or cannot be used in this direction.
        public static let closed = Code(raw: "closed")
        /// The peer is gone (EPIPE) while sending.
        public static let peerClosed = Code(raw: "peerClosed")
        /// A value could not be encoded or decoded.
        public static let encoding = Code(raw: "encoding")
        /// A system call failed.
        public static let systemCallFailed = Code(raw: "systemCallFailed")
        /// A barrier was broken (a party timed out, it was aborted or reset, or a party died
        /// inside it): every waiting party and every later `wait` gets this until `reset()`.
        public static let brokenBarrier = Code(raw: "brokenBarrier")
        /// A `BoundedSemaphore` was released more times than it was acquired.
        public static let overReleased = Code(raw: "overReleased")
        /// A lock was released, or a condition used, by a process or thread that does not hold it.
        public static let notOwner = Code(raw: "notOwner")
        /// An argument is out of range (a barrier of 0 parties, a semaphore value above 2^31).
        public static let invalidArgument = Code(raw: "invalidArgument")
        /// A queue had no item to get in time: Python's `queue.Empty`.
        public static let empty = Code(raw: "empty")
        /// A queue had no room to put in time: Python's `queue.Full`.
        public static let full = Code(raw: "full")
        /// `taskDone()` was called more times than items were put.
        public static let taskDoneTooOften = Code(raw: "taskDoneTooOften")
        /// A queue item was lost: a process died inside `get` after taking it out, before
        /// returning it (a `JoinableQueue.join` reports it rather than waiting forever).
        public static let itemLost = Code(raw: "itemLost")
        /// No shared memory segment has the name asked for.
        public static let noSuchSegment = Code(raw: "noSuchSegment")
        /// A shared memory segment with the name asked for exists already.
        public static let segmentExists = Code(raw: "segmentExists")
        /// A waiting async call's task was cancelled.
        public static let cancelled = Code(raw: "cancelled")
        /// A network peer failed the shared-key challenge, or rejected ours: the keys differ
        /// (``Listener``, ``Client``). No connection is made.
        public static let authenticationFailed = Code(raw: "authenticationFailed")
        /// A network peer broke the handshake: it sent something that is not a Forkline
        /// handshake (garbage, a huge length) or closed the connection in the middle of it.
        public static let handshakeFailed = Code(raw: "handshakeFailed")
        /// A network peer did not complete the handshake within its deadline (it sent nothing,
        /// or too little), or a connection could not be made in time.
        public static let handshakeTimedOut = Code(raw: "handshakeTimedOut")
        public var description: String { raw }
    }

    public var code: Code
    public var message: String
    public var syscall: String?
    public var errno: Int32?

    @usableFromInline
    init(_ code: Code, _ message: String, syscall: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.syscall = syscall
        self.errno = errno
    }

    public var description: String { message }
}
