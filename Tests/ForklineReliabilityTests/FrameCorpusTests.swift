import ForklineChannels
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The frame fuzzer's corpus (Fixtures/fuzz/frames), replayed on every test run: each input is
/// written to a pipe as if a peer had sent it, and received to the end.
@Suite("Broken frames from the fuzz corpus")
struct FrameCorpusTests {
    static let corpus: String = {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/fuzz/frames").path
    }()

    static var inputs: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: corpus)) ?? []).sorted()
    }

    struct Probe: Codable { var id: Int; var name: String; var parts: [Double]? }

    @Test("the corpus is there")
    func corpusPresent() {
        #expect(Self.inputs.count >= 15, "seeds in \(Self.corpus)")
    }

    @Test("every input gives messages, the end, or a clear error that closes the connection", arguments: inputs)
    func replay(_ name: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.corpus + "/" + name))
        try #require(data.count <= 65536, "an input fits in a pipe's buffer")
        let (reader, writer) = try Connection.pipe(duplex: false, maxMessageSize: 1 << 16)
        let written = data.withUnsafeBytes { write(writer.fileDescriptors[0], $0.baseAddress, $0.count) }
        #expect(written == data.count || data.isEmpty)
        writer.close()
        var received = 0
        var failure: ChannelError?
        var asValue = data.first.map { $0 & 1 == 1 } ?? false
        while failure == nil {
            do {
                let got: Bool = asValue ? (try reader.receive(Probe.self)) != nil : (try reader.receiveBytes()) != nil
                if !got { break }
                received += 1
            } catch {
                if error.code == .encoding && !reader.isClosed {
                    received += 1  // a whole frame whose payload is not a Probe: the stream goes on
                } else {
                    failure = error
                }
            }
            asValue.toggle()
        }
        if let failure {
            #expect(reader.isClosed, "\(failure.code): a broken stream closes the connection")
            #expect(failure.description.contains("connection"), "the error names the connection: \(failure)")
        }
        // The seeds say what they must give.
        switch name {
        case "seed-json-probe", "seed-raw-bytes", "seed-empty-payload": #expect(received == 1 && failure == nil)
        case "seed-two-frames": #expect(received == 2 && failure == nil)
        case "seed-bad-checksum", "seed-bad-magic", "seed-unknown-type", "seed-reserved-set": #expect(failure?.code == .corruptFrame)
        case "seed-utf8": #expect(received == 1 && failure == nil)
        case "seed-truncated-header", "seed-truncated-payload": #expect(failure?.code == .truncatedFrame)
        case "seed-oversized": #expect(failure?.code == .oversizedFrame)
        default: break
        }
    }
}
