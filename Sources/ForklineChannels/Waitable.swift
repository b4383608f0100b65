import ForklineSpawn
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// Something ``Connection/wait(for:timeout:)`` can wait on: a connection that has a message (or
/// its end), or a child that ended. Python's `connection.wait([p.sentinel, conn])`.
public enum Waitable: Sendable, Equatable {
    /// Ready when a message (or the peer's end) can be received without blocking.
    case connection(Connection)
    /// Ready when the child has ended (join it to get its status); also when it was never
    /// started, so a wait on it cannot hang.
    case child(ChildProcess)

    /// The same connection or child (by identity).
    public static func == (a: Waitable, b: Waitable) -> Bool {
        switch (a, b) {
        case (.connection(let x), .connection(let y)): x === y
        case (.child(let x), .child(let y)): x === y
        default: false
        }
    }
}

extension Connection {
    /// The items that are ready, waiting up to `timeout` for at least one (nil: forever; an
    /// empty answer means the timeout passed). A child's readiness is its end, as Python's
    /// `Process.sentinel`, so "this child exited or that message arrived" is one wait.
    @available(*, noasync, message: "blocking; call it from a thread that may block")
    public static func wait(for items: [Waitable], timeout: Duration?) -> [Waitable] {
        var fds: [pollfd] = []
        var readyNow: [Bool] = []
        for item in items {
            switch item {
            case .connection(let c):
                fds.append(pollfd(fd: c.isClosed ? -1 : c.readFD, events: Int16(POLLIN), revents: 0))
                readyNow.append(false)
            case .child(let child):
                let s = child.sentinel
                fds.append(pollfd(fd: s.map(\.fd) ?? -1, events: Int16(POLLIN), revents: 0))
                readyNow.append(s == nil || s!.ended)
            }
        }
        let anyNow = readyNow.contains(true)
        let ms: Int32 = anyNow ? 0 : timeout.map { d in
            let (s, a) = d.components
            return Int32(clamping: max(0, s) * 1000 + (max(0, a) + 999_999_999_999_999) / 1_000_000_000_000_000)
        } ?? -1
        guard case .success = Syscall.poll(&fds, timeoutMs: ms) else { return items.indices.filter { readyNow[$0] }.map { items[$0] } }
        return items.indices.filter { readyNow[$0] || fds[$0].revents != 0 }.map { items[$0] }
    }
}
