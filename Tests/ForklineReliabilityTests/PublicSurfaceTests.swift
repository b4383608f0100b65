import Foundation
import ForklineTestSupport
import Testing

/// The public symbols of each library module, read from the built module by
/// swift-symbolgraph-extract, against the checked-in list in `Fixtures/api/MODULE.txt`: only
/// what a user calls is public, and a change to that is a visible diff (`Tools/public-api`
/// rewrites the lists).
@Suite("The public surface is the checked-in list")
struct PublicSurfaceTests {
    static let modules = ["ForklineTraceFormat", "ForklineTrace", "ForklineCodec", "ForklineSpawn", "ForklineChannels", "ForklinePool", "ForklineReplay", "ForklineService", "Forkline"]

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static var extractor: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let dirs = path.split(separator: ":").map(String.init) + ["/opt/swift/usr/bin", "/usr/bin"]
        return dirs.map { $0 + "/swift-symbolgraph-extract" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// "kind path" per public symbol of `module`, sorted.
    static func publicSymbols(_ module: String) throws -> [String] {
        let products = TestSupport.productsDirectory.path
        let out = TestSupport.temporaryDirectory("forkline-api")
        defer { try? FileManager.default.removeItem(atPath: out) }
        // Every C module of the build: the generated maps (CForkline, swift-nio's shims that
        // ForklineService's NIOCore imports), and the dependencies' own (swift-atomics').
        var maps = ((try? FileManager.default.contentsOfDirectory(atPath: products)) ?? []).sorted()
            // (not the host-tool copies the macro's test target makes: the same modules again)
            .filter { !$0.hasSuffix("-tool.build") }
            .map { "\(products)/\($0)/module.modulemap" }.filter { FileManager.default.fileExists(atPath: $0) }
        let checkouts = URL(fileURLWithPath: products).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("checkouts").path
        if let files = FileManager.default.enumerator(atPath: checkouts) {
            for case let f as String in files where f.hasSuffix("/include/module.modulemap") && f.contains("/Sources/") {
                maps.append(checkouts + "/" + f)
            }
        }
        let result = try TestSupport.run(try #require(extractor), [
            "-module-name", module, "-target", "x86_64-unknown-linux-gnu", "-I", products + "/Modules",
        ] + maps.flatMap { ["-Xcc", "-fmodule-map-file=\($0)"] } + [
            "-output-dir", out, "-minimum-access-level", "public", "-skip-synthesized-members",
        ], timeout: 120)
        #expect(result.status == 0, "\(result.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(module).symbols.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let symbols = try #require(json["symbols"] as? [[String: Any]])
        let lines = symbols.compactMap { s -> String? in
            guard let kind = (s["kind"] as? [String: Any])?["identifier"] as? String,
                  let path = s["pathComponents"] as? [String] else { return nil }
            return "\(kind.replacingOccurrences(of: "swift.", with: "")) \(path.joined(separator: "."))"
        }
        return Array(Set(lines)).sorted()
    }

    @Test("each module's public symbols equal Fixtures/api/MODULE.txt", arguments: modules)
    func surface(module: String) throws {
        guard FileManager.default.fileExists(atPath: TestSupport.productsDirectory.path + "/Modules/\(module).swiftmodule") else {
            Issue.record("\(module) is not built")
            return
        }
        let actual = try Self.publicSymbols(module)
        let file = Self.repository.appendingPathComponent("Fixtures/api/\(module).txt")
        if ProcessInfo.processInfo.environment["FORKLINE_WRITE_API"] != nil {
            try (actual.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: file, encoding: .utf8).split(separator: "\n").map(String.init)
        let added = Set(actual).subtracting(expected).sorted()
        let removed = Set(expected).subtracting(actual).sorted()
        #expect(added.isEmpty && removed.isEmpty,
                "public surface of \(module) changed; run Tools/public-api and commit Fixtures/api if on purpose.\nadded: \(added)\nremoved: \(removed)")
    }
}
