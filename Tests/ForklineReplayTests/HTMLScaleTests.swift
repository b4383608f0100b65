import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Issue 16 item 3: the html page at 100k events, timed in headless Chromium.
@Suite("HTML timeline at scale")
struct HTMLScaleTests {
    /// The benchmark's trace shape (Tools/bench ReplayBench): a root forks `children`, sends each
    /// `messages` messages that the child receives, with marks between; about 100k events for
    /// 20 x 2,350.
    static func trace(children: Int = 20, messages: Int = 2_350) -> Trace {
        var t: UInt64 = 1_000
        func ev(_ kind: EventKind, _ puid: UInt64, _ seq: Int, _ args: [TraceValue]) -> TraceEvent {
            t += 100
            return TraceEvent(kind: kind, pid: Int32(puid), puid: puid, seq: UInt64(seq), time: t, args: args)
        }
        var root = [ev(.start, 1, 0, [.uint(0), .int(0), .uint(0), .uint(0), .uint(255), .string("main"), .string("")])]
        var kids: [[TraceEvent]] = []
        for c in 0..<children {
            let puid = UInt64(1000 + c)
            let fork = ev(.fork, 1, root.count, [.int(Int64(puid)), .uint(puid), .uint(0), .string(""), .uint(0), .uint(0), .backtrace(.unavailable)])
            root.append(fork)
            kids.append([ev(.start, puid, 0, [.uint(1), .int(1), .uint(1), .uint(fork.seq), .uint(0), .string("w\(c)"), .string("")])])
        }
        for m in 0..<messages {
            for c in 0..<children {
                let puid = UInt64(1000 + c)
                let send = ev(.send, 1, root.count, [.uint(puid), .uint(16)])
                root.append(send)
                kids[c].append(ev(.recv, puid, kids[c].count, [.uint(puid), .uint(1), .uint(send.seq), .uint(16)]))
                if m % 8 == 0 { kids[c].append(ev(.mark, puid, kids[c].count, [.string("step")])) }
            }
        }
        for c in 0..<children {
            let puid = UInt64(1000 + c)
            kids[c].append(ev(.exit, puid, kids[c].count, [.int(0)]))
            root.append(ev(.join, 1, root.count, [.int(Int64(puid)), .uint(puid), .status(.exited(0))]))
        }
        root.append(ev(.exit, 1, root.count, [.int(0)]))
        var processes = [ProcessTrace(header: ProcessHeader(pid: 1, ppid: 0, puid: 1, startTime: 0, realtime: 0), events: root)]
        for (c, evs) in kids.enumerated() {
            processes.append(ProcessTrace(header: ProcessHeader(pid: Int32(1000 + c), ppid: 1, puid: UInt64(1000 + c), startTime: 0, realtime: 0), events: evs))
        }
        return Trace(processes: processes)
    }

    @Test("a 100k-event page loads in under 2 s and every zoom or pan step draws in under 100 ms")
    func timing() throws {
        let trace = Self.trace()
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
