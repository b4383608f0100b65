// libFuzzer target for the frame decoder: the fuzzer's bytes arrive on a Connection as if a peer
// had written them, and are received until the end. Every input must give values, nil (the end)
// or a ChannelError: never a trap, a hang or a leak. Built and run by Tools/fuzz-frames.
import ForklineChannels

#if canImport(Glibc)
import Glibc
#endif

/// A small Codable message, so JSON payloads are decoded too.
struct Probe: Codable {
    var id: Int
    var name: String
    var parts: [Double]?
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFrames(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // A pipe holds 64 KiB: a larger input would block the write (Tools/fuzz-frames passes -max_len).
    guard size <= 65536, let (reader, writer) = try? Connection.pipe(duplex: false, maxMessageSize: 1 << 16) else { return 0 }
    let wfd = writer.fileDescriptors[0]
    var off = 0
    while off < size {
        let n = write(wfd, data + off, size - off)
        if n <= 0 { break }
        off += n
    }
    writer.close()
    // Alternate the two ways of receiving so both decoders see frames.
    var asValue = size > 0 && data[0] & 1 == 1
    while true {
        do {
            if asValue {
                guard (try reader.receive(Probe.self)) != nil else { break }
            } else {
                guard (try reader.receiveBytes()) != nil else { break }
            }
        } catch {
            // A clear error, and the connection is closed unless the payload only failed to decode.
            if error.code != .encoding && !reader.isClosed { fatalError("\(error.code) left the connection open") }
            if reader.isClosed { break }
        }
        asValue.toggle()
    }
    reader.close()
    return 0
}
