extension Duration {
    /// Whole nanoseconds, negative durations as 0, saturating at `UInt64.max`: the one conversion
    /// every timeout of Forkline's goes through.
    @inlinable
    package var clampedNanoseconds: UInt64 {
        let (s, atto) = components
        guard s >= 0 else { return 0 }
        let (ns, overflow) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return .max }
        let (sum, over) = ns.addingReportingOverflow(UInt64(max(0, atto) / 1_000_000_000))
        return over ? .max : sum
    }

    /// Whole milliseconds, for `poll`: negative as 0, saturating at `Int32.max`.
    @inlinable
    package var clampedMilliseconds: Int32 { Int32(clamping: clampedNanoseconds / 1_000_000) }
}
