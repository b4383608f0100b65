import CForkline
import ForklineSpawn
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// A TCP server socket whose accepted connections are authenticated ``Connection``s: Python's
/// `multiprocessing.connection.Listener(address, authkey=...)`.
///
/// ```swift
/// let key = AuthKey.random()
/// try await withListener(NetworkAddress(host: "127.0.0.1", port: 0), key: key) { listener in
///     // tell the clients listener.address (and give them the key through a 0600 file)
///     let conn = try await listener.accept()
///     let n: Int? = try await conn.receive()
/// }
/// ```
///
/// Every accepted peer must pass the shared-key handshake in both directions (``Handshake``,
/// docs/cluster.md) within ``handshakeTimeout`` before its connection is returned: a peer with a
/// wrong key, one that sends nothing, garbage or a huge length, or that closes mid-handshake
/// makes `accept` throw for that peer (its socket closed, nothing accepted), and the next
/// `accept` serves the next peer. The handshakes of several peers run at the same time (one
/// thread polls them all, each to its own deadline), so a silent peer delays no other: `accept`
/// returns (or throws) the endings in the order they came. At most ``maxPendingHandshakes``
/// peers are held at once; one past that is closed at once. The handshake protects who may
/// connect, not what is said afterwards: frames are neither encrypted nor authenticated (use a
/// private network or a tunnel).
public final class Listener: @unchecked Sendable {
    // @unchecked: `fd`, `key` and the settings are immutable; the handshakes in progress and
    // their endings are the desk's, behind its lock; `accept` is safe to call from several tasks.
    /// The address listened on, with the port the kernel picked when 0 was asked.
    public let address: NetworkAddress
    /// How long a peer has to complete the handshake.
    public let handshakeTimeout: Duration
    /// The largest frame accepted connections receive.
    public let maxMessageSize: Int
    /// The most peers held at once: handshakes in progress plus connections that passed and
    /// wait for an `accept`. A peer that connects past it is closed at once, so a flood of
    /// silent peers costs at most this many descriptors (and under 1 KiB of memory each).
    public let maxPendingHandshakes: Int
    let fd: Int32
    let key: AuthKey
    /// This process's desk (``currentDesk()``): a fork child makes its own.
    let desks: ForkSafeLock<(pid: pid_t, desk: HandshakeDesk)>
    /// The listening socket's device and inode: a child checks its number still names it.
    let socketIdentity: (device: UInt64, inode: UInt64)?
    let closed = ForkSafeLock(false)
    let waits = WaitGroup()

    /// Listens on `address` (port 0: any free port; host `0.0.0.0` or `::`: every interface).
    ///
    /// - Parameters:
    ///   - handshakeTimeout: how long each peer has to pass the handshake.
    ///   - maxPendingHandshakes: the most peers held at once (``maxPendingHandshakes``).
    /// - Throws: ``ChannelError`` `invalidArgument` when the host cannot be resolved,
    ///   `systemCallFailed` when the socket cannot be bound (`EADDRINUSE`: the port is taken).
    public init(_ address: NetworkAddress, key: AuthKey, backlog: Int = 128, handshakeTimeout: Duration = .seconds(10),
                maxPendingHandshakes: Int = 64, maxMessageSize: Int = 64 << 20) throws(ChannelError) {
        switch Syscall.tcpListen(host: address.host, port: address.port, backlog: Int32(clamping: backlog)) {
        case .success(let fd): self.fd = fd
        case .failure(let f):
            throw ChannelError(f.errno == nil ? .invalidArgument : .systemCallFailed, "Listener(\(address)): \(f.message)", syscall: f.call, errno: f.errno)
        }
        let bound = Syscall.socketAddress(fd, peer: false)
        self.address = NetworkAddress(host: address.host, port: bound?.port ?? address.port)
        self.key = key
        self.handshakeTimeout = handshakeTimeout
        self.maxPendingHandshakes = max(1, maxPendingHandshakes)
        self.maxMessageSize = maxMessageSize
        socketIdentity = Syscall.fileIdentity(fd)
        do {
            desks = ForkSafeLock((getpid(), try HandshakeDesk(listenFD: fd, key: key, timeout: handshakeTimeout, bound: self.maxPendingHandshakes,
                                                              maxMessageSize: maxMessageSize, name: "listener \(self.address)")))
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }

    /// The desk of this process. A fork child (the fork start method) inherits the parent's
    /// desk without its thread, and shares its eventfds with the parent: it gets a desk of its
    /// own over the same listening socket instead, and the inherited one is let go without
    /// joining a thread that is not there (``HandshakeDesk/leftByFork()``).
    func currentDesk() throws(ChannelError) -> HandshakeDesk {
        let me = getpid()
        return try desks.withLock { d throws(ChannelError) -> HandshakeDesk in
            if d.pid == me { return d.desk }
            // A fork or forkserver child keeps only the descriptors passed to it.
            guard let was = socketIdentity, let now = Syscall.fileIdentity(fd), now == was else {
                throw ChannelError(.closed, "listener \(address): its socket was not passed to this process: pass the listener to the child (ChildOptions.pass(listener))")
            }
            d.desk.leftByFork()
            let fresh = try HandshakeDesk(listenFD: fd, key: key, timeout: handshakeTimeout, bound: maxPendingHandshakes,
                                          maxMessageSize: maxMessageSize, name: "listener \(address)")
            d = (me, fresh)
            return fresh
        }
    }

    deinit { close() }

    /// Stops listening; an `accept` waiting now throws `closed`. Every handshake in progress is
    /// ended and its socket closed before this returns, and so is every connection that passed
    /// the handshake but no `accept` took. Connections accepted stay open.
    public func close() {
        let first = closed.withLock { c in
            defer { c = true }
            return !c
        }
        guard first else { return }
        waits.close()
        // In a child the listener was not passed to, the number may name another descriptor now.
        if let desk = try? currentDesk() { desk.close() }
    }

    /// Waits for the next ending of a peer's handshake (they run concurrently, see the type's
    /// discussion) and returns its connection when the peer passed.
    ///
    /// - Throws: ``ChannelError`` for that peer: `authenticationFailed` (a wrong key),
    ///   `handshakeTimedOut` (it sent nothing, or too little, within ``handshakeTimeout``),
    ///   `handshakeFailed` (garbage, a length over 256 bytes, a close mid-handshake, or
    ///   refused at once past ``maxPendingHandshakes``), `systemCallFailed` (`accept4`: `EMFILE`);
    ///   for the listener: `closed` (``close()`` was called), `cancelled`, `systemCallFailed`
    ///   (the thread that runs the handshakes could not start).
    public func accept() async throws(ChannelError) -> Connection {
        let desk = try currentDesk()
        try desk.enter()
        defer { desk.leave() }
        while true {
            if let r = try desk.take() { return try r.get() }
            do throws(WaitFailure) { try await AsyncBridge.shared().waitReadable(desk.readyFD, group: waits) } catch {
                throw ChannelError(waiting: error, "listener \(address)")
            }
        }
    }

    /// Waits up to `timeout` (nil: forever) for the next peer, blocking the calling thread.
    /// Throws as ``accept()``, and `handshakeTimedOut` when no peer came within `timeout` (a
    /// handshake begun goes on: its ending is the next `accept`'s).
    @available(*, noasync, message: "use the async accept")
    public func accept(timeout: Duration?) throws(ChannelError) -> Connection {
        let end = timeout.map { deadline(after: $0) }
        let desk = try currentDesk()
        try desk.enter()
        defer { desk.leave() }
        while true {
            if let r = try desk.take() { return try r.get() }
            var ms: Int32 = 200  // a slice, so a close() from another thread is seen
            if let end {
                let now = fl_monotonic_ns()
                if now >= end { throw ChannelError(.handshakeTimedOut, "listener \(address): no peer connected within \(timeout!)") }
                ms = Int32(min(200, (end - now + 999_999) / 1_000_000))
            }
            _ = Syscall.waitReadable(desk.readyFD, timeoutMs: ms)
        }
    }
}

/// Runs `body` with a listener on `address`, closed when `body` returns or throws.
///
/// - Throws: what ``Listener/init(_:key:backlog:handshakeTimeout:maxMessageSize:)`` and `body` throw.
public func withListener<R>(_ address: NetworkAddress, key: AuthKey, handshakeTimeout: Duration = .seconds(10),
                            _ body: (Listener) async throws -> R) async throws -> R {
    let listener = try Listener(address, key: key, handshakeTimeout: handshakeTimeout)
    defer { listener.close() }
    return try await body(listener)
}

/// Connects to a ``Listener``: Python's `multiprocessing.connection.Client(address, authkey=...)`.
public enum Client {
    /// Connects to `address`, passes the handshake with `key`, and returns the connection.
    ///
    /// - Parameter timeout: for the TCP connection and the handshake together.
    /// - Throws: ``ChannelError`` `authenticationFailed` (the listener holds another key),
    ///   `handshakeFailed`, `handshakeTimedOut`, `invalidArgument` (the host cannot be resolved),
    ///   `systemCallFailed` (`connect`: `ECONNREFUSED` when nothing listens there).
    public static func connect(to address: NetworkAddress, key: AuthKey, timeout: Duration = .seconds(10),
                               maxMessageSize: Int = 64 << 20) async throws(ChannelError) -> Connection {
        let r = await AsyncBridge.runBlocking {
            Result { () throws(ChannelError) in try connectNow(address, key, timeout, maxMessageSize) }
        }
        return try r.get()
    }

    /// Connects, blocking the calling thread (a pool's remote worker does). Throws as the async
    /// ``connect(to:key:timeout:maxMessageSize:)``.
    @available(*, noasync, message: "use the async connect")
    public static func connect(to address: NetworkAddress, key: AuthKey, timeout: Duration = .seconds(10),
                               maxMessageSize: Int = 64 << 20) throws(ChannelError) -> Connection {
        try connectNow(address, key, timeout, maxMessageSize)
    }

    static func connectNow(_ address: NetworkAddress, _ key: AuthKey, _ timeout: Duration, _ maxMessageSize: Int) throws(ChannelError) -> Connection {
        let due = deadline(after: timeout)
        let fd: Int32
        switch Syscall.tcpConnect(host: address.host, port: address.port, timeoutMs: timeout.clampedMilliseconds) {
        case .success(let s): fd = s
        case .failure(let f):
            let code: ChannelError.Code = f.errno == nil ? .invalidArgument : f.errno == ETIMEDOUT ? .handshakeTimedOut : .systemCallFailed
            throw ChannelError(code, "Client(\(address)): \(f.message)", syscall: f.call, errno: f.errno)
        }
        do {
            let channel = try Handshake.join(fd, key: key, deadline: due, peer: "client of \(address)")
            return Connection(channel: channel, readFD: fd, writeFD: fd, maxMessageSize: maxMessageSize, peer: address)
        } catch {
            _ = Glibc.close(fd)
            throw error
        }
    }
}

/// The CLOCK_MONOTONIC time `d` from now, saturating.
func deadline(after d: Duration) -> UInt64 {
    let (t, over) = fl_monotonic_ns().addingReportingOverflow(d.clampedNanoseconds)
    return over ? .max : t
}
