import CForkline

extension Tracer {
    /// Reserves (does not publish) an event whose arguments are all `u64` or `u8` (up to four,
    /// in table order) without building an argument array; nil when tracing is off or failed.
    /// A queue's put reserves its `send` this way so the ring commits it just before the item
    /// becomes visible to getters. The payload is byte for byte what ``recordWords(_:_:_:_:_:)``
    /// writes.
    package static func reserveWords(_ kind: EventKind, _ a: UInt64, _ b: UInt64, _ c: UInt64 = 0, _ d: UInt64 = 0) -> PendingRecord? {
        guard fl_trace_enabled() != 0 else { return nil }
        let packed = WordLayout.packed[Int(kind.rawValue)]
        precondition(packed != WordLayout.unsupportedPacked, "\(kind.name) has arguments that are not u64/u8, or more than four")
        var seq: UInt64 = 0
        guard let p = fl_trace_reserve_words(kind.rawValue, packed, a, b, c, d, &seq) else {
            reportFailure()
            return nil
        }
        return PendingRecord(payload: p, seq: seq)
    }
}

extension PendingRecord {
    /// The reserved payload, for C code that commits it (`fl_trace_commit`).
    package var pointer: UnsafeMutableRawPointer { payload }
}
