import CForkline

extension Tracer {
    /// Records that this thread begins to block on `what`/`object` (the slow path only: callers
    /// first try without waiting). Returns true when the `waitBegin` was recorded, so the caller
    /// records the matching ``waitEnd(_:_:_:)`` only then.
    @inline(__always)
    package static func waitBegin(_ what: WaitKind, _ object: UInt64, ref: UInt64 = 0) -> Bool {
        guard fl_trace_enabled() != 0 else { return false }
        recordWords(.waitBegin, UInt64(what.rawValue), object, ref)
        return true
    }

    /// Records the end of the wait begun by ``waitBegin(_:_:ref:)`` (when `began` is true).
    @inline(__always)
    package static func waitEnd(_ began: Bool, _ what: WaitKind, _ object: UInt64, _ outcome: WaitOutcome) {
        guard began else { return }
        recordWords(.waitEnd, UInt64(what.rawValue), object, UInt64(outcome.rawValue))
    }
}
