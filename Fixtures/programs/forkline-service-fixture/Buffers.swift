import ArgumentParser
import Forkline
import ForklineService
import NIOCore

/// Reverses the buffer's bytes and appends the byte count as 4 little-endian bytes.
let reverseBuffer = ByteBufferFunction("service-reverse-buffer") { buffer in
    var out = ByteBuffer(bytes: buffer.readableBytesView.reversed())
    out.writeInteger(UInt32(buffer.readableBytes), endianness: .little)
    return out
}

/// `ByteBuffer` in and out of a pool: one 256 KiB buffer through `apply`, three through `map`.
struct Buffers: AsyncParsableCommand {
    @Option var method: StartMethod = .forkserver

    func run() async throws {
        try await withPool(workers: 2, method: method) { pool in
            let big = ByteBuffer(bytes: (0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            var reply = try await pool.apply(reverseBuffer, big)
            let body = reply.readBytes(length: big.readableBytes) ?? []
            let count = reply.readInteger(endianness: .little, as: UInt32.self)
            say("apply \(body == Array(big.readableBytesView.reversed())) count \(count.map(String.init) ?? "-") left \(reply.readableBytes)")
            // A slice: only the readable bytes travel.
            var sliced = ByteBuffer(bytes: [9, 9, 1, 2, 3])
            sliced.moveReaderIndex(forwardBy: 2)
            let inputs = [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(), sliced]
            let outs = try await pool.map(reverseBuffer, inputs, chunksize: 1)
            say("map \(outs.map { Array($0.readableBytesView) })")
        }
    }
}
