import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// `Fixtures/traces/{valid,invalid}/NAME.jsonl` with `NAME.expect` beside it: `SUCCESS`, or
/// `FAILURE` and the rule ids `replay check` must report, one per line.
@Suite("Golden traces")
struct GoldenFixtureTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/traces")

    static var fixtureFiles: [String] {
        ["valid", "invalid"].flatMap { dir in
            ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(dir).path)) ?? [])
                .filter { $0.hasSuffix(".jsonl") }.sorted().map { "\(dir)/\($0)" }
        }
    }

    @Test("the fixtures on disk are the generator's output (FORKLINE_REGENERATE_FIXTURES=1 rebuilds them)")
    func generatorMatchesDisk() throws {
        let regenerate = ProcessInfo.processInfo.environment["FORKLINE_REGENERATE_FIXTURES"] == "1"
        for f in GoldenFixtures.all() {
            let dir = Self.root.appendingPathComponent(f.valid ? "valid" : "invalid")
            let text = GoldenFixtures.text(f.name, f.trace)
            let expect = f.rules.isEmpty ? "SUCCESS\n" : "FAILURE\n" + f.rules.map { $0 + "\n" }.joined()
            let jsonl = dir.appendingPathComponent(f.name + ".jsonl"), exp = dir.appendingPathComponent(f.name + ".expect")
            if regenerate {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                try text.write(to: jsonl, atomically: true, encoding: .utf8)
                try expect.write(to: exp, atomically: true, encoding: .utf8)
            }
            #expect(try String(contentsOf: jsonl, encoding: .utf8) == text, "\(f.name).jsonl differs from the generator")
            #expect(try String(contentsOf: exp, encoding: .utf8) == expect, "\(f.name).expect differs from the generator")
        }
    }

    @Test("every fixture gets its expected verdict", arguments: fixtureFiles)
    func verdict(file: String) throws {
        let path = Self.root.appendingPathComponent(file).path
        let expect = try String(contentsOfFile: String(path.dropLast(".jsonl".count)) + ".expect", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let report = try Trace.load(path: path).check()
        #expect(report.ok == (expect.first == "SUCCESS"), "\(report.violations)")
        #expect(Set(report.violations.map(\.rule.rawValue)) == Set(expect.dropFirst()), "\(report.violations)")
    }

    @Test("there are valid and violating fixtures for each rule of issue 2")
    func coverage() {
        let files = Self.fixtureFiles
        #expect(files.filter { $0.hasPrefix("valid/") }.count >= 3)
        for rule in ["missing-join", "join-before-exit", "start-without-fork", "double-join", "status-mismatch"] {
            #expect(files.contains("invalid/\(rule).jsonl"))
        }
    }

    @Test("every rule has a violating fixture that reports it, and docs/replay.md an example output of it")
    func everyRule() throws {
        let docs = try String(contentsOf: Self.root.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/replay.md"), encoding: .utf8)
        var expected: Set<String> = []
        for file in Self.fixtureFiles where file.hasPrefix("invalid/") {
            let path = Self.root.appendingPathComponent(file).path
            let expect = try String(contentsOfFile: String(path.dropLast(".jsonl".count)) + ".expect", encoding: .utf8)
            expected.formUnion(expect.split(separator: "\n").dropFirst().map(String.init))
        }
        for rule in Violation.Rule.allCases {
            #expect(expected.contains(rule.rawValue), "no violating fixture expects \(rule.rawValue)")
            #expect(docs.contains("\n[\(rule.rawValue)] "), "docs/replay.md has no example output for \(rule.rawValue)")
        }
    }
}
