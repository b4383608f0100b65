import CForkline

extension Tracer {
    /// Records an event whose arguments are all `u64` or `u8` (up to four, in table order)
    /// without building an argument array: the synchronisation types' hot path. The payload is
    /// byte for byte what ``record(_:_:)`` writes for the same values.
    package static func recordWords(_ kind: EventKind, _ a: UInt64, _ b: UInt64, _ c: UInt64 = 0, _ d: UInt64 = 0) {
        guard fl_trace_enabled() != 0 else { return }
        let layout = WordLayout.table[Int(kind.rawValue)]
        precondition(layout.count != WordLayout.unsupported, "\(kind.name) has arguments that are not u64/u8")
        var seq: UInt64 = 0
        guard let p = fl_trace_reserve(kind.rawValue, UInt32(layout.size), &seq) else {
            reportFailure()
            return
        }
        WordLayout.encode(layout, a, b, c, d, into: p)
        fl_trace_commit(p)
    }
}

/// For each kind (by raw value): how many arguments, which are `u8` (a bit each), and the payload
/// size, when every argument is `u64` or `u8` and there are at most four.
package enum WordLayout {
    static let unsupported: UInt8 = 0xFF

    /// The layout of `kind`, nil when its arguments are not all `u64`/`u8` or more than four.
    package static func of(_ kind: EventKind) -> (count: UInt8, bytes: UInt8, size: UInt16)? {
        let l = table[Int(kind.rawValue)]
        return l.count == unsupported ? nil : l
    }

    /// Writes up to four values as `layout` says, at `p` (which has room for `layout.size` bytes).
    @inline(__always)
    package static func encode(_ layout: (count: UInt8, bytes: UInt8, size: UInt16), _ a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64,
                               into p: UnsafeMutableRawPointer) {
        var offset = 0
        for i in 0..<Int(layout.count) {
            let v = i == 0 ? a : i == 1 ? b : i == 2 ? c : d
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
            guard args.count <= 4, args.allSatisfy({ $0.type == .u64 || $0.type == .u8 }) else { continue }
            var bytes: UInt8 = 0, size: UInt16 = 0
            for (i, a) in args.enumerated() {
                if a.type == .u8 { bytes |= 1 << i; size += 1 } else { size += 8 }
            }
            t[Int(k.rawValue)] = (UInt8(args.count), bytes, size)
        }
        return t
    }()
}
