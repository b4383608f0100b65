import CForkline

#if canImport(Glibc)
import Glibc
#endif

/// The one place Forkline's modules call the kernel for I/O and waits (issue "One system layer";
/// docs/architecture in the README's contributor section).
///
/// Every wrapper returns the errno as a value (or throws it through the caller's own error type),
/// retries EINTR where a retry is right, and never raises SIGPIPE. EBADF and EFAULT mean a bug of
/// ours (a descriptor we closed, a buffer we got wrong), not a condition a user can act on: they
/// trap with the call's name, as swift-nio's `syscall(blocking:where:)` does.
package enum Syscall {
    /// Runs `body` until it does not fail with EINTR (when `retryOnInterrupt`); returns its value,
    /// or the errno of its failure. `body` returns a negative value and sets `errno` on failure.
    /// Modelled on swift-system's `valueOrErrno(retryOnInterrupt:_:)`.
    ///
    /// `closable`: the descriptor belongs to an object the user may close from another thread
    /// while this call runs (a Connection): EBADF is then a condition the caller reports as
    /// "closed", not a bug.
    @inlinable
    package static func valueOrErrno<I: FixedWidthInteger>(
        _ call: StaticString, retryOnInterrupt: Bool = true, closable: Bool = false, _ body: () -> I
    ) -> Result<I, Errno> {
        while true {
            let r = body()
            if r >= 0 { return .success(r) }
            let err = errno
            if err == EINTR && retryOnInterrupt { continue }
            precondition(isAcceptable(err) || (closable && err == EBADF), "forkline: \(call) failed with \(Errno(err)): a bug in Forkline")
            return .failure(Errno(err))
        }
    }

    /// As ``valueOrErrno(_:retryOnInterrupt:_:)`` for the C target's functions that return
    /// `-errno` instead of setting `errno`.
    @inlinable
    package static func valueOrNegatedErrno<I: FixedWidthInteger & SignedInteger>(
        _ call: StaticString, retryOnInterrupt: Bool = true, _ body: () -> I
    ) -> Result<I, Errno> {
        while true {
            let r = body()
            if r >= 0 { return .success(r) }
            let err = Int32(truncatingIfNeeded: -r)
            if err == EINTR && retryOnInterrupt { continue }
            precondition(isAcceptable(err), "forkline: \(call) failed with \(Errno(err)): a bug in Forkline")
            return .failure(Errno(err))
        }
    }

    /// False for the errnos that only a bug of ours can cause.
    @inlinable
    package static func isAcceptable(_ err: Int32) -> Bool { err != EBADF && err != EFAULT }
}

/// An errno value with its name and message.
package struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    package var rawValue: Int32
    @inlinable package init(_ rawValue: Int32) { self.rawValue = rawValue }
    package var description: String { "\(String(cString: strerror(rawValue))) (errno \(rawValue))" }
}
