import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// `replay show` output for the golden fixtures, 100 columns, no colour, compared with
/// `Fixtures/snapshots/show/<valid|invalid>.<fixture>.txt`.
/// `FORKLINE_REGENERATE_SNAPSHOTS=1 swift test --filter TimelineTests` rewrites them.
@Suite("Terminal timeline")
struct TimelineTests {
    static let snapshots = GoldenFixtureTests.root.deletingLastPathComponent().appendingPathComponent("snapshots/show")
    static let regenerate = ProcessInfo.processInfo.environment["FORKLINE_REGENERATE_SNAPSHOTS"] == "1"

    /// The fixture files that have a snapshot (every fixture, once regenerated).
    static var snapshotted: [String] {
        if regenerate { return GoldenFixtureTests.fixtureFiles }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: snapshots.path)) ?? []
        return names.filter { $0.hasSuffix(".txt") }.sorted().map { name in
            let stem = name.dropLast(4)
            guard let dot = stem.firstIndex(of: ".") else { return String(stem) }
            return stem[..<dot] + "/" + stem[stem.index(after: dot)...] + ".jsonl"
        }
    }

    @Test("show matches its snapshot", arguments: snapshotted)
    func snapshot(file: String) throws {
        let trace = try Trace.load(path: GoldenFixtureTests.root.path + "/" + file)
        let text = Timeline(width: 100).render(trace)
        let snap = Self.snapshots.appendingPathComponent(file.replacingOccurrences(of: "/", with: ".").replacingOccurrences(of: ".jsonl", with: ".txt"))
        if Self.regenerate {
            try FileManager.default.createDirectory(at: Self.snapshots, withIntermediateDirectories: true)
            try text.write(to: snap, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: snap, encoding: .utf8)
        #expect(text == expected, "\(file): show output differs from \(snap.lastPathComponent):\n\(text)")
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 100 || !$0.contains("|") })
        #expect(!text.contains("\u{1B}["))
    }

    /// Fixtures that must have a snapshot (fixtures other areas add get one when regenerated).
    static let core: Set<String> = [
        "valid/four-fork-children.jsonl", "valid/crash-and-kill-joined.jsonl", "valid/forkserver-chain.jsonl",
        "valid/messages-in-order.jsonl", "valid/lock-handoffs.jsonl", "invalid/double-join.jsonl", "invalid/overlapping-holds.jsonl",
    ]

    @Test("there is a snapshot for every core fixture")
    func everyFixtureHasASnapshot() {
        let have = Set(Self.snapshotted)
        for f in Self.core.sorted() {
            #expect(have.contains(f), "no snapshot for \(f): FORKLINE_REGENERATE_SNAPSHOTS=1 swift test --filter TimelineTests")
        }
    }

    @Test("a long lane label (a remote worker's name with its host) is shown whole at the default width, cut only past 48 columns")
    func longLabels() throws {
        var b = FixtureBuilder()
        let root = b.process(pid: 1900, puid: 0x1900)
        b.start(root, parent: nil, method: .root, name: "main")
        let w = b.fork(root, pid: 1901, puid: 0x1901, name: "PoolWorker-3 (remote, flnode2)")
        let x = b.fork(root, pid: 1902, puid: 0x1902, name: String(repeating: "n", count: 80))
        b.exit(w, 0); b.exit(x, 0)
        b.join(root, w, .exited(0)); b.join(root, x, .exited(0)); b.exit(root, 0)
        let lines = Timeline(width: 100).render(b.trace).split(separator: "\n").map(String.init)
        // 32 columns cut this one to "1901 PoolWorker-3 (remote, flnod" before.
        #expect(lines.contains { $0.hasPrefix("1901 PoolWorker-3 (remote, flnode2) [") }, "\(lines)")
        let long = try #require(lines.first { $0.hasPrefix("1902 n") })
        #expect(long.hasPrefix("1902 " + String(repeating: "n", count: 42) + " "), "\(long)")
        #expect(lines.allSatisfy { $0.count <= 100 })
        // A narrow view keeps its lanes: labels take at most half of it, and never under 32.
        let narrow = Timeline(width: 60).render(b.trace).split(separator: "\n").map(String.init)
        #expect(narrow.contains { $0.hasPrefix("1901 PoolWorker-3 (remote, flno ") }, "\(narrow)")
    }

    @Test("lanes are labelled pid, name and role; the axis spans the window; --pid and --from/--to narrow it")
    func lanesAndWindow() throws {
        let trace = try Trace.load(path: GoldenFixtureTests.root.path + "/valid/forkserver-chain.jsonl")
        let full = Timeline(width: 80).render(trace).split(separator: "\n").map(String.init)
        #expect(full[0].hasPrefix("time") && full[0].contains("0 ns") && full[0].hasSuffix("10.0 us"))
        #expect(full[1].trimmingCharacters(in: .whitespaces).hasPrefix("+-"))
        #expect(full[2].hasPrefix("300 main [root]"))
        #expect(full[3].hasPrefix("301 forkserver [spawn]"))
        #expect(full[4].hasPrefix("302 Process-1 [forkserver]"))
        // The join of 302 by 300 crosses 301's lane.
        #expect(full[3].contains(":"))
        let window = Timeline(width: 80, pids: [300], from: 2_000, to: 6_000).render(trace).split(separator: "\n").map(String.init)
        #expect(window[0].contains("2.0 us") && window[0].hasSuffix("6.0 us"))
        #expect(window.filter { $0.contains("|") && !$0.hasPrefix("time") }.count == 1)
        // 300's events at +2..+6 us: fork (1 us) is outside, request (3 us) inside.
        #expect(window[2].contains("R") && !window[2].contains("F") && !window[2].contains("S"))
        #expect(Timeline.parseDuration("1.5ms") == 1_500_000 && Timeline.parseDuration("250") == 250)
        #expect(Timeline.parseDuration("2us") == 2_000 && Timeline.parseDuration("0.5s") == 500_000_000)
        #expect(Timeline.parseDuration("soon") == nil && Timeline.parseDuration("-1ms") == nil)
    }

    @Test("a crash shows its symbolised, demangled backtrace under its lane")
    func crashBacktrace() throws {
        let frames = TimelineTests.captureHere()
        var b = FixtureBuilder()
        let root = b.process(pid: 10, puid: 0x10)
        b.start(root, parent: nil, method: .root, name: "main")
        b.event(root, .modules, [.modules(Module.current())])
        let c = b.fork(root, pid: 11, puid: 0x11, name: "crasher")
        b.event(c, .crash, [.int(11), .int(1), .uint(0), .uint(frames.frames?.first ?? 0), .backtrace(frames)])
        b.join(root, c, .signaled(11))
        b.exit(root, 0)
        let text = Timeline(width: 160).render(b.trace)
        let lines = text.split(separator: "\n").map(String.init)
        let lane = try #require(lines.firstIndex { $0.hasPrefix("11 crasher [fork]") })
        #expect(lines[lane + 1].contains("! pid 11 crasher: SIGSEGV"))
        #expect(lines[(lane + 2)...].prefix(8).contains { $0.contains("TimelineTests.captureHere") }, "\(text)")
        #expect(text.contains("ForklineReplayTests.TimelineTests.captureHere() -> ForklineTraceFormat.Backtrace"), "names are demangled")
    }

    @inline(never)
    static func captureHere() -> Backtrace { Backtrace.capture() }

    @Test("replay show honours --width, COLUMNS, --from/--to; bad durations are usage errors")
    func command() throws {
        let f = GoldenFixtureTests.root.path + "/valid/four-fork-children.jsonl"
        let narrow = try TestSupport.run(Executables.replay, ["show", f], environment: ["COLUMNS": "50"])
        #expect(narrow.status == 0)
        #expect(narrow.lines.filter { $0.contains("|") }.allSatisfy { $0.count <= 50 }, "\(narrow.stdout)")
        let window = try TestSupport.run(Executables.replay, ["show", "--width", "70", "--from", "10us", "--to", "17us", f])
        #expect(window.status == 0 && window.lines[0].contains("10.0 us"))
        let bad = try TestSupport.run(Executables.replay, ["show", "--from", "soon", f])
        #expect(bad.status == 64 && bad.stderr.contains("not a duration"))
    }
}
