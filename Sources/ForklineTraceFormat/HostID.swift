/// Host ids: what keeps the traces of several machines apart when they are merged.
///
/// A host's id is the 64-bit FNV-1a hash of its host name (never 0: 0 means "unknown", as in
/// traces written before host ids). It is recorded in every trace file's header (offset 48), and
/// its 16-bit ``tag(of:)`` fills the top 16 bits of every puid made on that host, so puids made
/// on different hosts differ even when their random parts meet (docs/trace-format.md, "Hosts").
public enum HostID {
    /// The id of the host called `name` (FNV-1a 64 of its UTF-8 bytes; 1 if that hashes to 0).
    public static func of(name: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in name.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h == 0 ? 1 : h
    }

    /// The 16-bit tag of a host id that puids carry in their top bits (never 0).
    public static func tag(of host: UInt64) -> UInt16 {
        let t = UInt16(truncatingIfNeeded: host ^ (host >> 16) ^ (host >> 32) ^ (host >> 48))
        return t == 0 ? 1 : t
    }

    /// A puid for a process on `host`: the host's tag in the top 16 bits, 48 random bits below
    /// (never all zero).
    public static func makePuid(host: UInt64) -> UInt64 {
        UInt64(tag(of: host)) << 48 | UInt64.random(in: 1...0xFFFF_FFFF_FFFF)
    }

    /// The host tag a puid carries (meaningful only for puids made by a recorder with host ids).
    public static func tag(ofPuid puid: UInt64) -> UInt16 { UInt16(truncatingIfNeeded: puid >> 48) }
}
