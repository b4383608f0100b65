import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// The HTML page in a real headless browser (Debian's `chromium`, installed by Tools/install-deps).
@Suite("HTML timeline page")
struct HTMLPageTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs headless chromium on `page` with `extra` arguments; returns its standard output.
    static func browse(_ page: String, _ extra: [String], in dir: String) throws -> String {
        let chromium = try #require(Self.chromium, "chromium is not installed: run Tools/install-deps")
        let out = try TestSupport.run(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir)/profile",
                                                 "--window-size=1200,600"] + extra + ["file://" + page], timeout: 60)
        #expect(out.status == 0, "\(out.stderr.suffix(2000))")
        return out.stdout
    }

    @Test("the page is self-contained: no scripts, styles or fonts from the network")
    func selfContained() throws {
        let html = HTMLPage.render(try Trace.load(path: GoldenFixtureTests.root.path + "/invalid/double-join.jsonl"))
        #expect(!html.contains("https://") && !html.contains(" src=") && !html.contains("<link") && !html.contains("@import"))
        #expect(html.contains("<script>") && html.contains("id=\"trace-data\""))
        // Names and labels cannot end the data's script element.
        var b = FixtureBuilder()
        let root = b.process(pid: 1, puid: 1)
        b.start(root, parent: nil, method: .root, name: "</script><script>alert(1)</script><!--")
        b.event(root, .mark, [.string("</SCRIPT> & \"quotes\"\n")])
        b.exit(root, 0)
        let hostile = HTMLPage.render(b.trace)
        #expect(hostile.components(separatedBy: "</script>").count - 1 == 2)
        #expect(!hostile.contains("<!--") && !hostile.lowercased().contains("</script><script>alert"))
    }

    @Test("chromium loads the page without script errors, draws the lanes, marks and arrows, and links the violations")
    func inBrowser() throws {
        let dir = Scratch.directory()
        let page = dir + "/timeline.html"
        let out = try TestSupport.run(Executables.replay, ["html", GoldenFixtureTests.root.path + "/invalid/double-join.jsonl", "-o", page])
        #expect(out.status == 0)
        let dom = try Self.browse(page, ["--dump-dom"], in: dir)
        #expect(!dom.contains("<div id=\"forkline-error\""), "script error: \(dom.components(separatedBy: "forkline-error").last?.prefix(300) ?? "")")
        #expect(dom.contains("<title>Forkline timeline: 2 processes, 1 violation(s)</title>"))
        let ready = try #require(dom.range(of: "<div id=\"forkline-ready\"[^>]*>", options: .regularExpression).map { String(dom[$0]) })
        // double-join: main has 5 events, the child 2; fork -> start, exit -> join (twice).
        #expect(ready.contains("data-lanes=\"2\"") && ready.contains("data-marks=\"7\"") && ready.contains("data-flows=\"3\""), "\(ready)")
        #expect(dom.components(separatedBy: "class=\"lane\"").count - 1 == 2)
        #expect(dom.contains("id=\"violation-0\"") && dom.contains("[double-join]"))
        // Drag to zoom and hover, driven by the page's #bench mode (mouse events on the canvas).
        let bench = try Self.browse(page + "#bench", ["--dump-dom"], in: dir + "/bench")
        let marker = try #require(bench.range(of: "<div id=\"forkline-ready\"[^>]*>", options: .regularExpression).map { String(bench[$0]) })
        #expect(marker.contains("data-drag-zooms=\"true\""), "\(marker)")
        #expect(marker.contains("data-hover=\"start #0 in 400 main [root] at +0 ns\""), "\(marker)")
        let shot = dir + "/timeline.png"
        _ = try Self.browse(page, ["--screenshot=\(shot)"], in: dir)
        let png = try Data(contentsOf: URL(fileURLWithPath: shot))
        #expect(png.count > 1000 && png.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        print("HTML page screenshot: \(shot)")
    }
}

extension HTMLPageTests {
    /// The page's embedded trace data (the `trace-data` script element), parsed.
    static func data(_ html: String) throws -> [String: Any] {
        let open = try #require(html.range(of: "<script type=\"application/json\" id=\"trace-data\">"))
        let close = try #require(html.range(of: "</script>", range: open.upperBound..<html.endIndex))
        let json = String(html[open.upperBound..<close.lowerBound])
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }
}
