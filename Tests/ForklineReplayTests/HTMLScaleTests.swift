import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Issue 16 item 3: the html page at 100k events, timed in headless Chromium.
@Suite("HTML timeline at scale")
struct HTMLScaleTests {

    @Test("a 100k-event page loads in under 2 s and every zoom or pan step draws in under 100 ms")
    func timing() throws {
        let trace = SyntheticTraces.messaging(children: 20, messages: 2_350)  // ~100k events, the bench's small trace
        #expect(trace.eventCount > 99_000)
        let dir = Scratch.directory()
        let page = dir + "/big.html"
        try HTMLPage.render(trace).write(toFile: page, atomically: true, encoding: .utf8)
        let size = try FileManager.default.attributesOfItem(atPath: page)[.size] as? Int ?? 0
        // The machine is shared: a round can lose the CPU for a while. Each round takes the same
        // 25 steps (the same views), so a step's cost is its fastest over the rounds (a spike from
        // another process does not hit the same step every time); up to 5 rounds, until every
        // step's fastest is under the bound.
        var loads: [Int] = [], fastest: [Double] = [], detail = ""
        for round in 0..<5 {
            let dom = try HTMLPageTests.browse(page + "#bench", ["--dump-dom"], in: dir + "/r\(round)")
            #expect(!dom.contains("<div id=\"forkline-error\""), "\(dom.components(separatedBy: "forkline-error").last?.prefix(300) ?? "")")
            let ready = try #require(dom.range(of: "<div id=\"forkline-ready\"[^>]*>", options: .regularExpression).map { String(dom[$0]) })
            func attr(_ n: String) -> String? {
                ready.range(of: "\(n)=\"[^\"]*\"", options: .regularExpression).map { String(ready[$0].dropFirst(n.count + 2).dropLast()) }
            }
            #expect(attr("data-marks") == "\(trace.eventCount)")
            loads.append(Int(attr("data-load-ms") ?? "") ?? .max)
            let steps = (attr("data-steps-ms") ?? "").split(separator: " ").compactMap { Double($0) }
            #expect(steps.count == 25, "\(ready)")
            fastest = fastest.isEmpty ? steps : zip(fastest, steps).map { min($0, $1) }
            detail += "round \(round): load \(attr("data-load-ms") ?? "?") ms, steps \(attr("data-steps-ms") ?? "?")\n"
            if loads.min()! < 2_000 && (fastest.max() ?? .infinity) < 100 { break }
        }
        detail += "fastest per step: " + fastest.map { String(Int($0.rounded())) }.joined(separator: " ") + "\n"
        let shot = dir + "/big.png"
        _ = try HTMLPageTests.browse(page, ["--screenshot=\(shot)"], in: dir + "/shot")
        print("html at \(trace.eventCount) events, screenshot \(shot), \(size / 1024) KiB:\n\(detail)")
        #expect(loads.min()! < 2_000, "\(detail)")
        #expect((fastest.max() ?? .infinity) < 100, "\(detail)")
    }
}
