import Foundation
import ForklineReplay
import ForklineTestSupport
import ForklineTrace
import Testing

/// `replay status` on programs that really hang (Fixtures/programs/forkline-fixture/Hangs.swift),
/// taken while they hang; then the whole process tree is killed (no survivor) and `check` runs on
/// the trace they left. Status output is compared with `Fixtures/snapshots/status/<scenario>.txt`
/// after pids, ids and times are replaced by placeholders;
/// `FORKLINE_REGENERATE_SNAPSHOTS=1 swift test --filter HangStatusTests` rewrites them.
@Suite("replay status and check on hung programs")
struct HangStatusTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/snapshots/status")
    static let regenerate = ProcessInfo.processInfo.environment["FORKLINE_REGENERATE_SNAPSHOTS"] == "1"

    /// Each scenario: how many processes block, and the verdict line its status must reach.
    static let scenarios: [(name: String, blocked: Int, verdict: String)] = [
        ("hang-lock-order", 3, "deadlock:"),
        ("hang-pipe-cycle", 2, "deadlock:"),
        ("hang-queue-orphaned", 2, "stuck:"),
        ("hang-join-cycle", 2, "deadlock:"),
    ]

    /// Replaces what changes from run to run: pids, object ids and times, by order of appearance.
    static func normalized(_ text: String) -> String {
        var out = text
        for (pattern, prefix) in [("pid [0-9]+", "pid P"), ("\\b[0-9a-f]{16}\\b", "ID")] {
            let re = try! NSRegularExpression(pattern: pattern)
            var names: [String: String] = [:]
            let ns = out as NSString
            var result = ""
            var last = 0
            for m in re.matches(in: out, range: NSRange(location: 0, length: ns.length)) {
                let s = ns.substring(with: m.range)
                let name = names[s] ?? "\(prefix)\(names.count + 1)"
                names[s] = name
                result += ns.substring(with: NSRange(location: last, length: m.range.location - last)) + name
                last = m.range.location + m.range.length
            }
            out = result + ns.substring(from: last)
        }
        return out.replacingOccurrences(of: "\\+?[0-9]+\\.[0-9]{3}s", with: "<t>", options: .regularExpression)
    }

    func replayStatus(_ dir: String) throws -> String {
        try TestSupport.run(TestSupport.executable("replay"), ["status", dir], timeout: 120).stdout
    }

    @Test("status names each blocked process, what it waits on and who could end it; check finds the deadlock or the stuck wait",
          arguments: scenarios.map(\.name), ["fork", "spawn"])
    func hung(scenario: String, method: String) throws {
        let expected = Self.scenarios.first { $0.name == scenario }!
        let dir = TestSupport.temporaryDirectory("forkline-hang")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (program, pids) = try TestSupport.startPrintingPids(TestSupport.executable("forkline-fixture"), [scenario, method, dir])
        var killed = false
        func killTree() {
            guard !killed else { return }
            killed = true
            // Stop every process first, so none records what it sees of another's death (a parent
            // whose join returns would end the hang the trace is to show), then kill them all.
            for pid in pids { kill(pid, SIGSTOP) }
            for pid in pids { kill(pid, SIGKILL) }
            if program.isRunning { kill(program.processIdentifier, SIGKILL) }
            program.waitUntilExit()
        }
        defer { killTree() }
        #expect(pids.count >= 2, "the fixture printed its pids")
        // Poll until the program has reached its hang (bounded: 120 s on a loaded machine).
        var status = ""
        for _ in 0..<1200 {
            status = try replayStatus(dir)
            if status.contains("\(expected.blocked) blocked"), status.contains(expected.verdict) { break }
            usleep(100_000)
        }
        killTree()
        #expect(TestSupport.survivors(pids, within: 10).isEmpty, "no process of the hung tree survives")
        let text = Self.normalized(status)
        let snap = Self.snapshots.appendingPathComponent(scenario + ".txt")
        if Self.regenerate {
            try FileManager.default.createDirectory(at: Self.snapshots, withIntermediateDirectories: true)
            try text.write(to: snap, atomically: true, encoding: .utf8)
        }
        let want = try String(contentsOf: snap, encoding: .utf8)
        // The same snapshot for every start method: the status names processes, not methods.
        #expect(text == want, "\(scenario) (\(method)): status differs from \(snap.lastPathComponent):\n\(status)")

        let report = try Trace.load(path: dir).check()
        if expected.verdict == "deadlock:" {
            #expect(report.violations(.deadlock).count == 1, "\(report.violations)")
        } else {
            #expect(report.violations(.deadlock).isEmpty, "\(report.violations)")
            #expect(report.notes.contains { $0.hasPrefix("stuck:") }, "\(report.notes)")
        }
    }
}
