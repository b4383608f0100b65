import CForkline

/// A record reserved but not yet published: its sequence number and time are fixed at reservation.
///
/// ForklineSpawn reserves a `fork` record before calling `fork()` so the child knows the record's
/// sequence number (its `start` names it) and the fork's time precedes the child's start; the
/// parent fills in the child's pid and commits once `fork()` returns. A parent killed in between
/// leaves an uncommitted record, which readers skip and report.
package struct PendingRecord: @unchecked Sendable {
    // @unchecked: the pointer is into this process's trace mapping and used by one thread.
    let payload: UnsafeMutableRawPointer
    /// The sequence number of the reserved record.
    package let seq: UInt64

    /// Overwrites a 4-byte signed argument at `offset` in the payload.
    package func setInt32(_ value: Int32, at offset: Int) {
        (payload + offset).storeBytes(of: value.littleEndian, as: Int32.self)
    }

    /// Publishes the record.
    package func commit() { fl_trace_commit(payload) }

    /// Turns the reservation into padding that readers skip (the operation it described failed).
    package func cancel() {
        (payload - TraceFormat.recordHeaderSize + 4).storeBytes(of: TraceFormat.paddingKind.littleEndian, as: UInt16.self)
        fl_trace_commit(payload)
    }
}

extension Tracer {
    /// Reserves and fills a record without publishing it; nil when tracing is off.
    package static func reserve(_ kind: EventKind, _ args: [TraceValue]) -> PendingRecord? {
        guard fl_trace_enabled() != 0 else { return nil }
        let size = PayloadCodec.size(of: kind, args)
        var seq: UInt64 = 0
        guard let p = fl_trace_reserve(kind.rawValue, UInt32(size), &seq) else {
            reportFailure()
            return nil
        }
        PayloadCodec.encode(kind, args, into: p)
        return PendingRecord(payload: p, seq: seq)
    }
}
