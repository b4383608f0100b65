import CForkline
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// A listener's handshakes in progress: one thread takes new peers off the listening socket
/// and runs every peer's handshake at once, in one `poll` over their sockets, each to its own
/// deadline; ``Listener/accept()`` and ``Listener/accept(timeout:)`` take the endings in the
/// order they came (a connection, or the error of a peer that failed).
///
/// So a peer that sends nothing delays nobody: the next good client passes while it waits for
/// its deadline. At most `bound` peers are held at once (handshakes in progress plus
/// connections that passed and wait for an `accept`); a peer that comes past the bound is closed
/// at once (its `accept` ending is a `handshakeFailed` that says so), so a flood of silent peers
/// costs at most `bound` descriptors. Endings of failed peers are kept up to `bound` too (the
/// oldest dropped first).
///
/// The thread takes new peers off the socket only while an `accept` waits (as a Python
/// `Listener` does); a handshake already begun goes on to its end or its deadline, waited for or
/// not. The thread ends when nobody waits and no handshake is in progress, and when the
/// listener closes: that closes every socket it holds before ``close()`` returns.
final class HandshakeDesk: @unchecked Sendable {
    // @unchecked: everything mutable is behind `state`; the two eventfds are written, drained
    // and closed only under `state` (and closed only once `closed` is set, after the thread
    // ended), except the thread's own drain of `wakeFD` before it ends; `listenFD` is used only
    // by the desk's thread, and closed by ``close()`` after that thread ended.
    let listenFD: Int32
    let key: AuthKey
    let timeout: Duration
    let bound: Int
    let maxMessageSize: Int
    let name: String
    /// Readable exactly while `ready` holds an ending (changed only under `state`).
    let readyFD: Int32
    /// Wakes the thread: a waiter came or left, or the listener closed.
    let wakeFD: Int32
    let state = ForkSafeLock(State())

    struct State {
        var ready: [Result<Connection, ChannelError>] = []
        /// Connections in `ready` (held descriptors, counted against the bound).
        var readyConnections = 0
        var waiters = 0
        var running = false
        var closed = false
        /// The running thread, while nobody but ``close()`` may join it.
        var thread: pthread_t?
        var descriptorsClosed = false
    }

    /// A handshake in progress.
    struct Pending {
        var fd: Int32
        var machine: HandshakeMachine
        var deadline: UInt64
        var peer: NetworkAddress?
    }

    init(listenFD: Int32, key: AuthKey, timeout: Duration, bound: Int, maxMessageSize: Int, name: String) throws(ChannelError) {
        self.listenFD = listenFD
        self.key = key
        self.timeout = timeout
        self.bound = max(1, bound)
        self.maxMessageSize = maxMessageSize
        self.name = name
        let r = fl_eventfd(), w = fl_eventfd()
        guard r >= 0, w >= 0 else {
            if r >= 0 { _ = Glibc.close(r) }
            if w >= 0 { _ = Glibc.close(w) }
            throw ChannelError(.systemCallFailed, "\(name): eventfd failed (errno \(-min(r, w)))", syscall: "eventfd", errno: -min(r, w))
        }
        readyFD = r
        wakeFD = w
    }

    deinit {
        state.withLock { s in
            if !s.descriptorsClosed { closeDescriptors() }
        }
    }

    private func closeDescriptors() {
        _ = Glibc.close(readyFD)
        _ = Glibc.close(wakeFD)
    }

    // MARK: the waiters' side

    /// Counts a waiter in (starting the thread if it is not running); call ``leave()`` after.
    func enter() throws(ChannelError) {
        // The thread is made under the lock, so `running` and `thread` change together (it
        // takes the lock first thing, and waits for this hold to end).
        let rc = state.withLock { s -> Int32 in
            s.waiters += 1
            if s.closed { return 0 }
            if s.running {
                if s.waiters == 1 { signal(wakeFD) }  // it polls the listening socket from now on
                return 0
            }
            let box = Unmanaged.passRetained(self).toOpaque()
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { raw in
                Unmanaged<HandshakeDesk>.fromOpaque(raw!).takeRetainedValue().loop()
                return nil
            }, box)
            if rc != 0 {
                Unmanaged<HandshakeDesk>.fromOpaque(box).release()
                s.waiters -= 1
                return rc
            }
            s.running = true
            s.thread = tid
            return 0
        }
        if rc != 0 {
            throw ChannelError(.systemCallFailed, "\(name): cannot start the thread that runs its handshakes (pthread_create: errno \(rc))", syscall: "pthread_create", errno: rc)
        }
    }

    func leave() {
        state.withLock { s in
            s.waiters -= 1
            if s.waiters == 0, !s.closed { signal(wakeFD) }  // it stops taking new peers
        }
    }

    /// The next ending, if there is one; `closed` once the listener is closed.
    func take() throws(ChannelError) -> Result<Connection, ChannelError>? {
        try state.withLock { s throws(ChannelError) -> Result<Connection, ChannelError>? in
            if s.closed { throw ChannelError(.closed, "\(name): closed") }
            guard !s.ready.isEmpty else { return nil }
            let r = s.ready.removeFirst()
            if case .success = r { s.readyConnections -= 1 }
            if s.ready.isEmpty { drain(readyFD) }
            return r
        }
    }

    // MARK: closing

    /// Ends the thread (closing every handshake in progress), then every connection that passed
    /// and was not taken, then the listening socket.
    func close() {
        let (thread, left) = state.withLock { s -> (pthread_t?, [Result<Connection, ChannelError>]) in
            s.closed = true
            defer {
                s.thread = nil
                s.ready = []
                s.readyConnections = 0
            }
            signal(wakeFD)   // the thread sees `closed`
            signal(readyFD)  // blocking waiters see `closed` at their next look
            return (s.thread, s.ready)
        }
        if let thread { pthread_join(thread, nil) }
        for case .success(let c) in left { c.close() }
        _ = Glibc.close(listenFD)
        state.withLock { s in
            s.descriptorsClosed = true
            closeDescriptors()
        }
    }

    /// In a fork child: this desk is the parent's. Its thread is not here (only the forking
    /// thread survives a fork), so nothing joins it; the child's copies of its eventfds and of
    /// the connections that passed and wait for the parent's `accept` are closed (the parent's
    /// stay open, and nothing is recorded: they are the parent's connections). The handshakes
    /// the parent's thread had in progress are its own: their copies stay open in the child.
    /// The listening socket is the child's new desk's.
    func leftByFork() {
        let left = state.withLock { s -> [Result<Connection, ChannelError>] in
            s.closed = true
            s.running = false
            s.thread = nil
            s.waiters = 0
            defer { s.ready = []; s.readyConnections = 0 }
            if !s.descriptorsClosed { closeDescriptors() }
            s.descriptorsClosed = true
            return s.ready
        }
        for case .success(let c) in left { c.closeCopyInForkChild() }
    }

    // MARK: the thread

    func loop() {
        var pending: [Pending] = []
        var listenPausedUntil: UInt64 = 0
        while true {
            let (closed, listening) = state.withLock { s -> (Bool, Bool) in (s.closed, s.waiters > 0) }
            if closed { break }
            if pending.isEmpty, !listening {
                // Idle: end, unless a waiter came in between (then go on).
                let ended = state.withLock { s -> Bool in
                    guard s.waiters == 0, !s.closed else { return false }
                    s.running = false
                    if let t = s.thread { pthread_detach(t) }  // nobody will join it
                    s.thread = nil
                    return true
                }
                if ended { return }
                continue
            }
            let now = fl_monotonic_ns()
            var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
            let held = state.withLock { $0.readyConnections } + pending.count
            let takeNew = listening && now >= listenPausedUntil
            if takeNew { fds.append(pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)) }
            let first = fds.count
            for p in pending { fds.append(pollfd(fd: p.fd, events: Int16(POLLIN), revents: 0)) }
            var until = pending.map(\.deadline).min() ?? UInt64.max
            if listening, !takeNew { until = min(until, listenPausedUntil) }
            let ms: Int32 = until == .max ? -1 : Int32(min(UInt64(Int32.max), (until &- min(until, now) + 999_999) / 1_000_000))
            _ = Syscall.poll(&fds, timeoutMs: ms)
            if fds[0].revents != 0 { drain(wakeFD) }
            // Handshakes that can read, then those past their deadline.
            var still: [Pending] = []
            let later = fl_monotonic_ns()
            for (i, var p) in pending.enumerated() {
                if fds[first + i].revents != 0 { Handshake.step(p.fd, &p.machine) }
                Handshake.flush(p.fd, &p.machine)
                if p.machine.outcome == nil, later >= p.deadline { p.machine.timedOut() }
                if p.machine.outcome != nil { finish(p) } else { still.append(p) }
            }
            pending = still
            if takeNew, fds[1].revents != 0 {
                acceptAll(&pending, held: held, pausedUntil: &listenPausedUntil)
            }
        }
        for p in pending { _ = Glibc.close(p.fd) }
    }

    /// Takes every peer waiting on the listening socket: a handshake for each within the bound,
    /// a close for each past it.
    func acceptAll(_ pending: inout [Pending], held: Int, pausedUntil: inout UInt64) {
        var held = held
        while true {
            switch Syscall.accept(listenFD) {
            case .success(let fd):
                let peer = Syscall.socketAddress(fd, peer: true).map { NetworkAddress(host: $0.host, port: $0.port) }
                let who = "\(name): peer \(peer.map(String.init(describing:)) ?? "?")"
                guard held < bound else {
                    _ = Glibc.close(fd)
                    publish(.failure(ChannelError(.handshakeFailed, "\(who): refused: \(bound) peers are already held (handshakes in progress and connections not yet accepted), the listener's maxPendingHandshakes")))
                    continue
                }
                var p = Pending(fd: fd, machine: HandshakeMachine(role: .listener, key: key, peer: who), deadline: deadline(after: timeout), peer: peer)
                Handshake.flush(fd, &p.machine)
                if p.machine.outcome != nil { finish(p) } else { pending.append(p) }
                held += 1
            case .failure(let e) where e.rawValue == EAGAIN || e.rawValue == ECONNABORTED || e.rawValue == EINTR:
                return
            case .failure(let e):
                // EMFILE, ENFILE, ENOBUFS: no descriptor for the peer now; it stays in the
                // backlog, and the socket is looked at again in 100 ms (not in a busy loop).
                publish(.failure(ChannelError(.systemCallFailed, "\(name): accept failed: \(e)", syscall: "accept4", errno: e.rawValue)))
                pausedUntil = fl_monotonic_ns() &+ 100_000_000
                return
            }
        }
    }

    /// A handshake that ended: its connection, or its error and its socket closed.
    func finish(_ p: Pending) {
        switch p.machine.outcome {
        case .success(let channel)?:
            publish(.success(Connection(channel: channel, readFD: p.fd, writeFD: p.fd, maxMessageSize: maxMessageSize, peer: p.peer)))
        case .failure(let error)?:
            _ = Glibc.close(p.fd)
            publish(.failure(error))
        case nil:
            preconditionFailure("forkline: a handshake finished without an outcome")
        }
    }

    func publish(_ r: Result<Connection, ChannelError>) {
        let refused = state.withLock { s -> Connection? in
            if s.closed {
                if case .success(let c) = r { return c }
                return nil
            }
            if case .failure = r, s.ready.count(where: { if case .failure = $0 { true } else { false } }) >= bound,
               let oldest = s.ready.firstIndex(where: { if case .failure = $0 { true } else { false } }) {
                s.ready.remove(at: oldest)
            }
            if s.ready.isEmpty { signal(readyFD) }
            s.ready.append(r)
            if case .success = r { s.readyConnections += 1 }
            return nil
        }
        refused?.close()
    }

    func signal(_ fd: Int32) { Syscall.eventSignal(fd) }

    func drain(_ fd: Int32) { Syscall.eventDrain(fd) }
}
