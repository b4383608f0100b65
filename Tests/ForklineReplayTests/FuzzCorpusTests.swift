import Foundation
import ForklineReplay
import ForklineTrace
import Testing

/// The seed corpus of the trace reader's fuzz target (`Tools/fuzz-trace`):
/// `Fixtures/fuzz/trace-reader/` holds every golden fixture's processes as binary files and every
/// fixture as JSON Lines. `FORKLINE_REGENERATE_FIXTURES=1` rewrites the generated seeds; other
/// files there (inputs the fuzzer found) are kept and replayed too.
@Suite("Fuzz corpus")
struct FuzzCorpusTests {
    static let corpus = GoldenFixtureTests.root.deletingLastPathComponent().appendingPathComponent("fuzz/trace-reader")

    static func seeds() -> [(name: String, bytes: [UInt8])] {
        var out: [(String, [UInt8])] = []
        for f in GoldenFixtures.all() {
            out.append(("\(f.name).jsonl", Array(GoldenFixtures.text(f.name, f.trace).utf8)))
            for p in f.trace.processes { out.append(("\(f.name).\(p.header.pid).flt", p.binaryBytes())) }
        }
        return out
    }

    @Test("the seed corpus holds every fixture, binary and JSON Lines")
    func seedsOnDisk() throws {
        if ProcessInfo.processInfo.environment["FORKLINE_REGENERATE_FIXTURES"] == "1" {
            try FileManager.default.createDirectory(at: Self.corpus, withIntermediateDirectories: true)
            for (name, bytes) in Self.seeds() { try Data(bytes).write(to: Self.corpus.appendingPathComponent(name)) }
        }
        for (name, bytes) in Self.seeds() where GoldenFixtureTests.fixtureFiles.contains(where: { $0.hasSuffix("/" + name.split(separator: ".")[0] + ".jsonl") }) {
            let disk = try Data(contentsOf: Self.corpus.appendingPathComponent(name))
            #expect(Array(disk) == bytes, "\(name) differs from the generator")
        }
    }

    @Test("every corpus file goes through the fuzz target's steps without trapping")
    func replayCorpus() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path).sorted()
        #expect(files.count >= 2 * GoldenFixtures.all().count)
        for name in files {
            let bytes = Array(try Data(contentsOf: Self.corpus.appendingPathComponent(name)))
            let processes: [ProcessTrace]
            if bytes.first == UInt8(ascii: "{") {
                guard let ps = try? JSONLines.parse(bytes, source: name) else { continue }
                processes = ps
            } else {
                guard let p = try? bytes.withUnsafeBytes({ b throws(TraceFileError) in try ProcessTrace(bytes: b, source: name) }) else { continue }
                processes = [p]
                let back = try? p.binaryBytes().withUnsafeBytes { b throws(TraceFileError) in try ProcessTrace(bytes: b, source: name) }
                #expect(back?.events == p.events, "\(name): binary round trip")
            }
            let trace = Trace(processes: processes)
            _ = check(trace).json()
            _ = Timeline(width: 60).render(trace)
            _ = trace.statsJSON()
            _ = ChromeTrace.export(trace)
            _ = ShiVizLog.export(trace)
        }
    }
}
