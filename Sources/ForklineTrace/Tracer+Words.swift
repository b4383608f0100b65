import CForkline

extension Tracer {
    /// Records an event whose arguments are all `u64` or `u8` (up to four, in table order)
    /// without building an argument array: the synchronisation types' and the pool's hot path.
    /// One call into the recorder (`fl_trace_record_words`: one lock, filled and published
    /// under it). The payload is byte for byte what ``record(_:_:)`` writes for the same values.
    @inline(__always)
    package static func recordWords(_ kind: EventKind, _ a: UInt64, _ b: UInt64, _ c: UInt64 = 0, _ d: UInt64 = 0) {
        guard fl_trace_enabled() != 0 else { return }
        recordPacked(kind, a, b, c, d)
    }

    static func recordPacked(_ kind: EventKind, _ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) {
        let packed = WordLayout.packed[Int(kind.rawValue)]
        precondition(packed != WordLayout.unsupportedPacked, "\(kind.name) has arguments that are not u64/u8, or more than four")
        if fl_trace_record_words(kind.rawValue, packed, a, b, c, d) < 0 { reportFailure() }
    }

    /// As ``recordWords(_:_:_:_:)`` for an event of five or six `u64`/`u8` arguments (the pool's
    /// `poolSubmit` and `poolResult`).
    @inline(__always)
    package static func recordWords(_ kind: EventKind, _ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64, _ e: UInt64, _ f: UInt64 = 0) {
        guard fl_trace_enabled() != 0 else { return }
        recordWide(kind, a, b, c, d, e, f)
    }

    static func recordWide(_ kind: EventKind, _ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64, _ e: UInt64, _ f: UInt64) {
        let layout = WordLayout.table[Int(kind.rawValue)]
        precondition(layout.count != WordLayout.unsupported, "\(kind.name) has arguments that are not u64/u8")
        var seq: UInt64 = 0
        guard let p = fl_trace_reserve(kind.rawValue, UInt32(layout.size), &seq) else {
            reportFailure()
            return
        }
        WordLayout.encode(layout, a, b, c, d, e, f, into: p)
        fl_trace_commit(p)
    }
}

/// For each kind (by raw value): how many arguments, which are `u8` (a bit each), and the payload
/// size, when every argument is `u64` or `u8` and there are at most six.
package enum WordLayout {
    static let unsupported: UInt8 = 0xFF
    static let unsupportedPacked: UInt32 = 0xFFFF_FFFF

    /// The layout of `kind`, nil when its arguments are not all `u64`/`u8` or more than six.
    package static func of(_ kind: EventKind) -> (count: UInt8, bytes: UInt8, size: UInt16)? {
        let l = table[Int(kind.rawValue)]
        return l.count == unsupported ? nil : l
    }

    /// Writes up to six values as `layout` says, at `p` (which has room for `layout.size` bytes).
    @inline(__always)
    package static func encode(_ layout: (count: UInt8, bytes: UInt8, size: UInt16), _ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64,
                               _ e: UInt64 = 0, _ f: UInt64 = 0, into p: UnsafeMutableRawPointer) {
        var offset = 0
        for i in 0..<Int(layout.count) {
            let v = i == 0 ? a : i == 1 ? b : i == 2 ? c : i == 3 ? d : i == 4 ? e : f
            if layout.bytes & (1 << i) != 0 {
                p.storeBytes(of: UInt8(truncatingIfNeeded: v), toByteOffset: offset, as: UInt8.self)
                offset += 1
            } else {
                p.storeBytes(of: v.littleEndian, toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
        }
    }

    static let table: [(count: UInt8, bytes: UInt8, size: UInt16)] = {
        var t = [(count: UInt8, bytes: UInt8, size: UInt16)](repeating: (unsupported, 0, 0), count: EventKind.table.count)
        for k in EventKind.allCases {
            let args = k.arguments
            guard args.count <= 6, args.allSatisfy({ $0.type == .u64 || $0.type == .u8 }) else { continue }
            var bytes: UInt8 = 0, size: UInt16 = 0
            for (i, a) in args.enumerated() {
                if a.type == .u8 { bytes |= 1 << i; size += 1 } else { size += 8 }
            }
            t[Int(k.rawValue)] = (UInt8(args.count), bytes, size)
        }
        return t
    }()

    /// `table` as `fl_trace_record_words` takes it (count, `u8` bits << 8, size << 16), for the
    /// kinds of at most four arguments; ``unsupportedPacked`` for the others.
    package static let packed: [UInt32] = table.map { l in
        l.count > 4 ? unsupportedPacked : UInt32(l.count) | UInt32(l.bytes) << 8 | UInt32(l.size) << 16
    }
}
