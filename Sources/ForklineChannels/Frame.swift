import ForklineTrace
import ForklineSystem

/// The wire format of one message (docs/channels.md): a 32-byte header, then the payload.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 4 | magic `FLF1` |
/// | 4 | 4 | payload length |
/// | 8 | 8 | sender's puid (the process's trace id) |
/// | 16 | 8 | sequence number of the sender's `send` event (0 when not traced) |
/// | 24 | 1 | payload type: 0 raw bytes, 1 JSON, 2 plain data (the value's bytes), 3 UTF-8 string, 4 binary codec (docs/codec.md) |
/// | 25 | 3 | plain data: a fingerprint of the type's name (``fingerprint(_:)``); else zero |
/// | 28 | 4 | FNV-1a of bytes 0-27 |
struct FrameHeader: Equatable {
    static let size = 32
    static let magic: UInt32 = 0x3146_4C46  // "FLF1" little-endian

    var length: UInt32
    var senderPuid: UInt64
    var sendSeq: UInt64
    var type: UInt8
    /// For plain data: 24 bits of the type's fingerprint.
    var tag: UInt32 = 0

    func encode(into p: UnsafeMutableRawPointer) {
        p.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt32.self)
        p.storeBytes(of: length.littleEndian, toByteOffset: 4, as: UInt32.self)
        p.storeBytes(of: senderPuid.littleEndian, toByteOffset: 8, as: UInt64.self)
        p.storeBytes(of: sendSeq.littleEndian, toByteOffset: 16, as: UInt64.self)
        p.storeBytes(of: (UInt32(type) | (tag & 0xFF_FFFF) << 8).littleEndian, toByteOffset: 24, as: UInt32.self)
        p.storeBytes(of: Self.check(UnsafeRawBufferPointer(start: p, count: 28)).littleEndian, toByteOffset: 28, as: UInt32.self)
    }

    /// Decodes a header; nil when it is not a valid one.
    static func decode(_ b: UnsafeRawBufferPointer) -> FrameHeader? {
        guard b.count >= size,
              UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 0, as: UInt32.self)) == magic,
              UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 28, as: UInt32.self)) == check(UnsafeRawBufferPointer(rebasing: b[0..<28])),
              b[24] <= 4, b[24] == 2 || (b[25] == 0 && b[26] == 0 && b[27] == 0) else { return nil }
        return FrameHeader(
            length: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
            senderPuid: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            sendSeq: UInt64(littleEndian: b.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            type: b[24],
            tag: UInt32(b[25]) | UInt32(b[26]) << 8 | UInt32(b[27]) << 16)
    }

    /// A 24-bit fingerprint of a type's name, carried by plain-data frames so that a receiver
    /// never reads one plain type's bytes as another type of the same size. Cached per type.
    static func fingerprint<T>(_ type: T.Type) -> UInt32 {
        let key = ObjectIdentifier(type)
        if let f = fingerprints.withLock({ $0[key] }) { return f }
        var name = String(reflecting: type)
        let f = name.withUTF8 { check(UnsafeRawBufferPointer($0)) } & 0xFF_FFFF
        fingerprints.withLock { $0[key] = f }
        return f
    }

    static let fingerprints = ForkSafeLock<[ObjectIdentifier: UInt32]>([:])

    static func check(_ b: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt32 = 0x811C_9DC5
        for byte in b { h = (h ^ UInt32(byte)) &* 0x0100_0193 }
        return h
    }
}
