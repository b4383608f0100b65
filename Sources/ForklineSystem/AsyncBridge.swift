import CForkline
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Why an async wait ended without the event it waited for.
package enum WaitFailure: Error, Sendable, Equatable {
    /// The object waited on was closed (``WaitGroup/close()``).
    case closed
    /// The waiting task was cancelled.
    case cancelled
    /// The bridge's monitor thread failed (`call` returned `errno`); every waiter got this.
    case monitorFailed(call: String, errno: Int32)
    /// The wait could not be armed (`call` returned `errno`).
    case systemCallFailed(call: String, errno: Int32)
}

/// The one bridge between blocking kernel waits and Swift concurrency: an async `join`,
/// `receive`, semaphore, event or queue wait suspends its task here and no cooperative thread
/// ever blocks on a peer.
///
/// Two threads serve every waiter of the process: one in `epoll_wait` for descriptors (pidfds,
/// sockets, pipes) and one (a *lane*, one per 127 waiters) in `futex_waitv` for futex words in
/// shared memory. A waiter is keyed by a token that is never reused, not by a descriptor number:
/// each readable-wait watches a private `dup` of the descriptor, so a closed and reused number
/// can neither wake nor starve anybody. Every wait ends one of four ways: its event, the close of
/// the object it waits on (``WaitGroup/close()``, throwing ``WaitFailure/closed``), task
/// cancellation (``WaitFailure/cancelled``), or a failure of the monitor thread: the bridge then
/// moves to a failed state, resumes every continuation with ``WaitFailure/monitorFailed(call:errno:)``
/// (as swift-subprocess's Linux monitor does), and ``shared()`` makes a fresh bridge for later
/// waits.
package final class AsyncBridge: @unchecked Sendable {
    // @unchecked: `epfd` and `wakeFD` are immutable; everything else is behind `state`. The word
    // pointers in `State` point into shared memory kept mapped by the suspended waiter that owns
    // the entry, so they are only read while that entry is registered (under `state`).
    let epfd: Int32
    let wakeFD: Int32
    let state = ForkSafeLock(State())
    let injectFailure = Atomic<Bool>(false)

    /// The token of the wake-up eventfd in the epoll set (waiters' tokens start at 1).
    static let controlToken: UInt64 = 0
    static let nextToken = Atomic<UInt64>(1)
    static let current = ForkSafeLock<AsyncBridge?>(nil)

    enum Kind {
        case readable(dup: Int32)
        case futex(lane: Int)
    }

    struct Waiter {
        var kind: Kind
        var continuation: CheckedContinuation<Result<Bool, WaitFailure>, Never>
    }

    struct FutexEntry {
        var word: UnsafeMutablePointer<UInt32>
        var expected: UInt32
        var deadline: UInt64
        var shared: Bool
    }

    struct State {
        var failure: WaitFailure?
        var waiters: [UInt64: Waiter] = [:]
        /// Tokens handed out whose waiter has not registered yet, and failures that reached them
        /// first (a cancellation or close racing the registration).
        var pending: Set<UInt64> = []
        var early: [UInt64: WaitFailure] = [:]
        var lanes: [FutexLane] = []
        var laneEntries: [[UInt64: FutexEntry]] = []
    }

    /// The process's bridge (made on first use, and again after a failure).
    package static func shared() -> AsyncBridge {
        current.withLock { b in
            if let b, !b.isFailed { return b }
            let made = AsyncBridge()
            b = made
            return made
        }
    }

    /// True once the monitor failed; its waiters were resumed with the failure.
    package var isFailed: Bool { state.withLock { $0.failure != nil } }

    /// A bridge of its own (tests); everything else uses ``shared()``.
    package init() {
        epfd = fl_epoll_create()
        precondition(epfd >= 0, "forkline: epoll_create1 failed (errno \(-epfd))")
        wakeFD = fl_eventfd()
        precondition(wakeFD >= 0, "forkline: eventfd failed (errno \(-wakeFD))")
        precondition(fl_epoll_watch_token_persistent(epfd, wakeFD, Self.controlToken) == 0, "forkline: cannot watch the bridge's eventfd")
        BridgeThread.start(self) { $0.epollLoop() }
    }

    // MARK: waiting

    /// Suspends until `fd` is readable (data, end of stream, or a child's pidfd ending).
    /// - Throws: ``WaitFailure``: `closed` when `group` is closed, `cancelled`, `monitorFailed`.
    package func waitReadable(_ fd: Int32, group: WaitGroup? = nil) async throws(WaitFailure) {
        _ = try await wait(group: group) { _ -> Result<Kind, WaitFailure> in
            let dup = fl_dup_cloexec(fd)
            if dup < 0 { return .failure(-dup == EBADF ? .closed : .systemCallFailed(call: "fcntl(F_DUPFD_CLOEXEC)", errno: -dup)) }
            return .success(.readable(dup: dup))
        }
    }

    /// Suspends until the futex `word` (process-shared memory) is woken or no longer holds
    /// `expected`, or until the CLOCK_MONOTONIC time `deadline` (ns, 0: none).
    /// - Returns: false when the deadline passed first. A true return may be spurious.
    /// - Throws: ``WaitFailure`` as ``waitReadable(_:group:)``.
    /// `shared` false: a process-private word (woken with `FUTEX_WAKE_PRIVATE`).
    package func waitFutex(_ word: UnsafeMutablePointer<UInt32>, expected: UInt32, deadline: UInt64, shared: Bool = true,
                           group: WaitGroup? = nil) async throws(WaitFailure) -> Bool {
        nonisolated(unsafe) let word = word
        return try await wait(group: group) { token in
            .success(.futex(lane: self.addFutex(token, FutexEntry(word: word, expected: expected, deadline: deadline, shared: shared))))
        }
    }

    func wait(group: WaitGroup?, arm: @escaping (UInt64) -> Result<Kind, WaitFailure>) async throws(WaitFailure) -> Bool {
        let token = Self.nextToken.wrappingAdd(1, ordering: .relaxed).oldValue
        state.withLock { _ = $0.pending.insert(token) }
        defer { group?.leave(token) }
        guard group?.enter(token, self) ?? true else {
            state.withLock { s in _ = s.pending.remove(token); s.early[token] = nil }
            throw .closed
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Result<Bool, WaitFailure>, Never>) in
                register(token, c, arm)
            }
        } onCancel: {
            self.resolve(token, .failure(.cancelled))
        }
        return try result.get()
    }

    func register(_ token: UInt64, _ c: CheckedContinuation<Result<Bool, WaitFailure>, Never>,
                  _ arm: (UInt64) -> Result<Kind, WaitFailure>) {
        // The token stays pending until its waiter is in `waiters`, so a cancellation or close
        // that comes while the wait is being armed is kept in `early`, never lost.
        let refused = state.withLock { s -> WaitFailure? in
            guard let f = s.early.removeValue(forKey: token) ?? s.failure else { return nil }
            s.pending.remove(token)
            return f
        }
        if let refused { return c.resume(returning: .failure(refused)) }
        let kind: Kind
        switch arm(token) {
        case .failure(let f): return c.resume(returning: .failure(f))
        case .success(let k): kind = k
        }
        // Registered before it is armed, so a wake-up that comes at once finds it.
        let late = state.withLock { s -> WaitFailure? in
            s.pending.remove(token)
            if let f = s.early.removeValue(forKey: token) ?? s.failure { return f }
            s.waiters[token] = Waiter(kind: kind, continuation: c)
            return nil
        }
        if let late {
            disarm(token, kind)
            return c.resume(returning: .failure(late))
        }
        switch kind {
        case .readable(let dup):
            let rc = fl_epoll_watch_token(epfd, dup, token)
            if rc < 0 { resolve(token, .failure(.systemCallFailed(call: "epoll_ctl", errno: -rc))) }
        case .futex(let lane):
            state.withLock { $0.lanes[lane] }.poke()
        }
    }

    /// Ends the wait of `token` with `result` (whoever removes the waiter first resumes it).
    func resolve(_ token: UInt64, _ result: Result<Bool, WaitFailure>) {
        let waiter = state.withLock { s -> Waiter? in
            if let w = s.waiters.removeValue(forKey: token) { return w }
            if case .failure(let f) = result, s.pending.contains(token) { s.early[token] = f }
            return nil
        }
        guard let waiter else { return }
        disarm(token, waiter.kind)
        waiter.continuation.resume(returning: result)
    }

    func disarm(_ token: UInt64, _ kind: Kind) {
        switch kind {
        case .readable(let dup):
            if !isFailed { _ = fl_epoll_ctl_del(epfd, dup) }
            _ = Glibc.close(dup)
        case .futex(let lane):
            let l = state.withLock { s -> FutexLane in
                s.laneEntries[lane][token] = nil
                return s.lanes[lane]
            }
            l.poke()
        }
    }

    // MARK: failure

    /// Moves the bridge to the failed state and resumes every waiter with `failure`.
    func fail(_ failure: WaitFailure) {
        let (waiters, lanes) = state.withLock { s -> ([UInt64: Waiter], [FutexLane]) in
            if s.failure == nil { s.failure = failure }
            for t in s.pending { s.early[t] = failure }
            defer { s.waiters = [:]; for i in s.laneEntries.indices { s.laneEntries[i] = [:] } }
            return (s.waiters, s.lanes)
        }
        for lane in lanes { lane.stop() }
        for (_, w) in waiters {
            if case .readable(let dup) = w.kind { _ = Glibc.close(dup) }
            w.continuation.resume(returning: .failure(failure))
        }
    }

    /// For tests: makes the monitor thread's next `epoll_wait` fail (its epoll descriptor is
    /// closed under it), as a kernel failure would.
    package func injectMonitorFailureForTesting() {
        injectFailure.store(true, ordering: .sequentiallyConsistent)
        Syscall.eventSignal(wakeFD)
    }

    func epollLoop() {
        var ready = [UInt64](repeating: 0, count: 64)
        while true {
            let n = ready.withUnsafeMutableBufferPointer { fl_epoll_wait_tokens(epfd, $0.baseAddress, 64, -1) }
            if n < 0 {
                if n == -EINTR { continue }
                return fail(.monitorFailed(call: "epoll_wait", errno: -n))
            }
            for i in 0..<Int(n) {
                if ready[i] == Self.controlToken {
                    Syscall.eventDrain(wakeFD)
                    if injectFailure.load(ordering: .sequentiallyConsistent) { _ = Glibc.close(epfd) }
                } else {
                    resolve(ready[i], .success(true))
                }
            }
        }
    }

    /// In a fork child: the bridge's threads did not survive and its epoll set is the parent's.
    /// In the parent, before a fork: creates the bridge's lazily initialised globals, so a fork
    /// child never waits on Swift's global-initialisation lock for one (ChildSetup.prepareParent).
    package static func prepareForFork() {
        _ = current.withLock { $0 == nil }
        _ = (BlockingThreads.mutex, BlockingThreads.cond)
    }

    /// In a fork child: the parent's bridge and its threads are not ours.
    package static func resetAfterFork() {
        current.release()  // a parent thread may have held it at the fork; it has no owner
        current.withLock { $0 = nil }
        BlockingThreads.resetAfterFork()
    }
}

/// The tokens of the async waits in progress on one object (a connection): closing the object
/// closes its group, which resumes each of them with ``WaitFailure/closed``.
package final class WaitGroup: @unchecked Sendable {
    // @unchecked: all state is behind its lock.
    let state = ForkSafeLock<(closed: Bool, waits: [UInt64: AsyncBridge])>((false, [:]))

    package init() {}

    func enter(_ token: UInt64, _ bridge: AsyncBridge) -> Bool {
        state.withLock { s in
            if s.closed { return false }
            s.waits[token] = bridge
            return true
        }
    }

    func leave(_ token: UInt64) { state.withLock { _ = $0.waits.removeValue(forKey: token) } }

    /// Closes the group: every wait in it, and every later one, ends with ``WaitFailure/closed``.
    package func close() {
        let waits = state.withLock { s in
            s.closed = true
            return s.waits
        }
        for (token, bridge) in waits { bridge.resolve(token, .failure(.closed)) }
    }
}

/// Starts a detached thread that runs `body(object)`.
enum BridgeThread {
    final class Job {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func start<T: AnyObject>(_ object: T, _ body: @escaping (T) -> Void) {
        let job = Unmanaged.passRetained(Job { body(object) }).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { arg in
            Unmanaged<Job>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, job)
        precondition(rc == 0, "forkline: cannot create the async bridge's thread (errno \(rc))")
        pthread_detach(tid)
    }
}
