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
        let (size, needed) = PayloadCodec.sizes(of: kind, args)
        var seq: UInt64 = 0
        guard let p = fl_trace_reserve(kind.rawValue, UInt32(clamping: size), &seq) else {
            // Past the record limit, the recorder put an `eventTruncated` in the event's place.
            if size > PayloadCodec.maxPayload { reportTruncation(kind, needed: needed, seq: nil) } else { reportFailure() }
            return nil
        }
        PayloadCodec.encode(kind, args, into: p)
        if needed != size { reportTruncation(kind, needed: needed, seq: seq) }
        return PendingRecord(payload: p, seq: seq)
    }

    /// Records that the event `seq` of `kind` was cut short (`seq` nil: the recorder dropped it
    /// and recorded that itself), and warns once.
    static func reportTruncation(_ kind: EventKind, needed: Int, seq: UInt64?) {
        if let seq { recordWords(.eventTruncated, UInt64(kind.rawValue), UInt64(needed), seq, 1) }
        let what = seq == nil ? "was dropped" : "was recorded cut short"
        warnOnce("forkline: a \(kind.name) event of \(needed) bytes is over the trace format's limits and \(what); the trace records it (eventTruncated)")
    }
}
