import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// Issue 16 item 5: `show`'s legend and marks.
@Suite("Terminal timeline marks and legend")
struct TimelineDetailTests {
    static func legend(_ text: String) -> String {
        text.components(separatedBy: "\n\n").last ?? ""
    }

    @Test("the legend lists exactly the marks that appear, channel open/close included")
    func legendOfUsedMarks() throws {
        let trace = try EndingViewTests.poolCrash()
        let text = Timeline(width: 160).render(trace)
        let legend = Self.legend(text)
        #expect(legend.contains("! crash or killed"), "\(legend)")
        #expect(!legend.contains("K kill") && !legend.contains("# trace cut") && !legend.contains("L lock"), "\(legend)")
        let queue = Timeline(width: 100).render(try ExportTests.load("valid/queue-two-producers-two-consumers.jsonl"))
        #expect(Self.legend(queue).contains("o channel open"), "\(queue)")
        let lanes = text.components(separatedBy: "\n\n").first!.split(separator: "\n").dropFirst(2).filter { $0.contains("|") }
        let used = Set(lanes.flatMap { $0.split(separator: "|", maxSplits: 1).last.map(Array.init) ?? [] }).subtracting([" "])
        for c in used { #expect(legend.contains("\(c) "), "mark \(c) is drawn but not in the legend: \(legend)") }
        let listed = Set(legend.split(whereSeparator: { $0 == " " || $0 == "\n" }).filter { $0.count == 1 }.map { $0.first! })
        #expect(listed == used, "listed \(listed.sorted()) vs drawn \(used.sorted())")
    }

    @Test("no hand-off mark in a lane before its process started or after it ended")
    func noMarksOutsideLife() throws {
        let trace = try EndingViewTests.poolCrash()
        for line in Timeline(width: 160).render(trace).split(separator: "\n") where line.contains("|") && !line.hasPrefix("time") {
            let lane = String(line.split(separator: "|", maxSplits: 1).last ?? "")
            let chars = Array(lane)
            guard let a = chars.firstIndex(where: { $0 != " " && $0 != ":" }), let b = chars.lastIndex(where: { $0 != " " && $0 != ":" }) else { continue }
            #expect(!chars[..<a].contains(":") && !chars[(b + 1)...].contains(":"), "\(line)")
        }
    }

    @Test("a dense lane says it is dense; a start is not hidden under the sends beside it")
    func denseLane() throws {
        var b = FixtureBuilder()
        let root = b.process(pid: 1, puid: 1)
        b.start(root, parent: nil, method: .root, name: "main")
        let c = b.fork(root, pid: 2, puid: 2, name: "producer")
        let base = b.clock
        for k in 0..<23 { b.event(c, .send, [.uint(5), .uint(8)], at: base + 150_000 + UInt64(k) * 10) }
        b.event(c, .exit, [.int(0)], at: base + 500_000)
        b.clock += 10_000_000
        b.join(root, c, .exited(0))
        b.exit(root, 0)
        let lines = Timeline(width: 100).render(b.trace).split(separator: "\n").map(String.init)
        let lane = try #require(lines.firstIndex { $0.hasPrefix("2 producer") })
        #expect(lines[lane].contains("S"), "\(lines[lane])")
        #expect(lines[lane + 1].contains("(dense: ") && lines[lane + 1].contains("narrow with --from/--to"), "\(lines[lane + 1])")
    }

    @Test("a child that exited non-zero says so under its lane")
    func failedExit() throws {
        var b = FixtureBuilder()
        let root = b.process(pid: 1, puid: 1)
        b.start(root, parent: nil, method: .root, name: "main")
        let c = b.fork(root, pid: 2, puid: 2, name: "failing")
        b.exit(c, 3)
        b.join(root, c, .exited(3))
        b.exit(root, 0)
        let lines = Timeline(width: 100).render(b.trace).split(separator: "\n").map(String.init)
        let lane = try #require(lines.firstIndex { $0.hasPrefix("2 failing") })
        #expect(lines[lane + 1].contains("X pid 2 failing: exit 3"), "\(lines[lane + 1])")
    }
}

extension TimelineDetailTests {
    @Test("in colour, a join that saw a signal is painted like the crash or kill it saw")
    func deathColourOnJoin() throws {
        let text = Timeline(width: 100, color: true).render(try ExportTests.load("valid/crash-and-kill-joined.jsonl"))
        let main = try #require(text.split(separator: "\n").first { $0.hasPrefix("200 main") })
        let red = "\u{1B}[1;31m"
        #expect(main.components(separatedBy: red + "J").count - 1 == 2, "\(main)")
        let exitJoin = Timeline(width: 100, color: true).render(try ExportTests.load("valid/four-fork-children.jsonl"))
        #expect(!exitJoin.contains(red + "J"))
    }
}
