import Foundation
import Testing

/// The Swift snippets of the README and docs/ compile because they are taken from files that
/// are built: a snippet whose first line is a comment naming a file (`// Tools/examples/X.swift`)
/// must appear in that file, line by line in order (`// ...` marks lines left out; a doc line
/// may add a trailing `  // comment`). A snippet
/// edited by hand, or a source changed without its doc, fails here.
@Suite("Doc snippets are taken from built files")
struct DocSnippetTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let documents = ["README.md", "docs/pool.md", "docs/channels.md", "docs/service.md", "docs/spawn.md"]

    /// The ```swift blocks of `text`, as lines.
    static func swiftBlocks(_ text: String) -> [[String]] {
        var blocks: [[String]] = []
        var current: [String]?
        for line in text.components(separatedBy: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            if current == nil, t == "```swift" { current = [] } else if current != nil, t == "```" {
                blocks.append(current!)
                current = nil
            } else if current != nil { current!.append(line) }
        }
        return blocks
    }

    @Test("every snippet that names its source file matches that file", arguments: documents)
    func snippetsMatchSources(document: String) throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent(document), encoding: .utf8)
        for block in Self.swiftBlocks(text) {
            guard let first = block.first?.trimmingCharacters(in: .whitespaces), first.hasPrefix("// "),
                  let path = first.dropFirst(3).split(separator: " ").first.map(String.init),
                  path.hasSuffix(".swift"), path.contains("/") else { continue }
            let source = try String(contentsOf: Self.root.appendingPathComponent(path), encoding: .utf8)
                .components(separatedBy: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            var at = 0
            for line in block.dropFirst() {
                let want = line.trimmingCharacters(in: .whitespaces)
                if want.isEmpty || want == "// ..." { continue }
                // A doc line may add a trailing comment ("  // overloaded") to the source's line.
                let bare = want.components(separatedBy: "  // ").first!.trimmingCharacters(in: .whitespaces)
                guard let found = source[at...].firstIndex(of: want) ?? source[at...].firstIndex(of: bare) else {
                    Issue.record("\(document): a snippet from \(path) has a line that file does not have (after line \(at)): \(want)")
                    break
                }
                at = found + 1
            }
        }
    }

    @Test("the documents hold snippets taken from the new pool, barrier and ByteBuffer API")
    func newAPIIsShown() throws {
        func named(_ document: String) throws -> [String] {
            let text = try String(contentsOf: Self.root.appendingPathComponent(document), encoding: .utf8)
            return Self.swiftBlocks(text).compactMap { $0.first?.trimmingCharacters(in: .whitespaces) }
        }
        #expect(try named("README.md").contains { $0.hasPrefix("// Tools/examples/PoolAPIExamples.swift") })
        #expect(try named("docs/pool.md").contains { $0.hasPrefix("// Tools/examples/PoolAPIExamples.swift") })
        #expect(try named("docs/channels.md").contains { $0.hasPrefix("// Tools/examples/PoolAPIExamples.swift") })
        #expect(try named("docs/service.md").contains { $0.hasPrefix("// Fixtures/programs/forkline-service-fixture/Buffers.swift") })
    }
}
