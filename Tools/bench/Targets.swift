// Issue 14's targets (and DESIGN.md's), each judged on a figure of this run: `forkline-bench
// --write-docs` replaces the one table of docs/benchmarks.md with them (history stays in git).
import CForkline
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

enum Targets {
    /// What a target compares: Forkline's median, its ratio to the peer's median, or its speed
    /// over CPython's (above 1: faster, whatever the unit).
    enum Measure { case value, peerRatio, python, peerOverOurs }

    struct Check {
        var measure: Measure
        var atLeast: Bool
        var bound: Double
    }

    struct Target {
        var figure: String
        var goal: String
        var checks: [Check]
    }

    static func atLeast(_ m: Measure, _ b: Double) -> Check { Check(measure: m, atLeast: true, bound: b) }
    static func atMost(_ m: Measure, _ b: Double) -> Check { Check(measure: m, atLeast: false, bound: b) }

    /// Every target of issue 14, in its order, then DESIGN.md's CPU-bound pool row.
    static let all: [Target] = [
        Target(figure: "pool task with 256 KiB [UInt8] in and out (MiB/s in+out)", goal: ">= 0.5x the Connection's 1 MiB one-way bandwidth", checks: [atLeast(.peerRatio, 0.5)]),
        Target(figure: "round trip, Connection, Int", goal: "<= 1.3x the C socketpair", checks: [atMost(.peerRatio, 1.3)]),
        Target(figure: "round trip, Connection, Int, both on one CPU", goal: "<= 1.3x the C socketpair (both pinned to one CPU, alternated: the code's cost without wake-ups across CPUs; the row above stays judged)", checks: [atMost(.peerRatio, 1.3)]),
        Target(figure: "queue Int, 1 producer 1 consumer", goal: ">= 30 M/s, >= 0.25x the C ring, >= 100x CPython",
               checks: [atLeast(.value, 30), atLeast(.peerRatio, 0.25), atLeast(.python, 100)]),
        Target(figure: "queue Int, 2 producers 2 consumers", goal: ">= 10 M/s", checks: [atLeast(.value, 10)]),
        Target(figure: "queue 3-field plain struct, 1x1", goal: ">= 5 M/s", checks: [atLeast(.value, 5)]),
        Target(figure: "queue 3-field struct with a String, 1x1", goal: ">= 5 M/s (the issue's struct, if it holds a String)", checks: [atLeast(.value, 5)]),
        Target(figure: "queue 3-field struct with a String, BinaryCodable, 1x1", goal: ">= 5 M/s (the same struct with the conformance `@BinaryCodable` writes; the row above stays judged)", checks: [atLeast(.value, 5)]),
        Target(figure: "pool map, tiny tasks, chunksize 1", goal: "<= 1 us/task, >= 25x CPython Pool.map", checks: [atMost(.value, 1), atLeast(.python, 25)]),
        Target(figure: "pool map, tiny tasks, automatic chunks", goal: ">= 10x CPython Pool.map", checks: [atLeast(.python, 10)]),
        Target(figure: "0.16 ms CPU task from 16 concurrent async callers, 2 workers (throughput)", goal: ">= 0.9x a 2-thread Dispatch pool's throughput", checks: [atLeast(.peerRatio, 0.9)]),
        Target(figure: "0.16 ms CPU task from 16 concurrent async callers, 2 workers (p99 latency)", goal: "p99 no worse than the 2-thread Dispatch pool's", checks: [atMost(.peerRatio, 1.0)]),
        Target(figure: "start+join, fork", goal: "<= 1.3x the bare fork", checks: [atMost(.peerRatio, 1.3)]),
        Target(figure: "start+join, forkserver", goal: "<= 1.5x the bare fork", checks: [atMost(.peerRatio, 1.5)]),
        Target(figure: "start+join, spawn", goal: "<= 1.2x the bare posix_spawn", checks: [atMost(.peerRatio, 1.2)]),
        Target(figure: "record one event (static mark)", goal: "<= 60 ns", checks: [atMost(.value, 60)]),
        Target(figure: "record one event (static mark), trace on tmpfs", goal: "<= 60 ns (the same with the trace on /dev/shm, where no disk's file system makes its pages; the row above stays judged)", checks: [atMost(.value, 60)]),
        Target(figure: "queue Int, 1 producer 1 consumer, traced", goal: ">= 0.7x untraced", checks: [atLeast(.peerRatio, 0.7)]),
        Target(figure: "queue Int, 1 producer 1 consumer, traced (alternated)", goal: ">= 0.7x untraced (`--queue`: rounds alternated)", checks: [atLeast(.peerRatio, 0.7)]),
        Target(figure: "pool map, tiny tasks, chunksize 1, traced", goal: "<= 1.3x untraced", checks: [atMost(.peerRatio, 1.3)]),
        Target(figure: "pool CPU-bound map, 2 workers", goal: ">= 1.9x one worker (DESIGN.md)", checks: [atLeast(.peerOverOurs, 1.9)]),
    ]

    static func value(_ m: Measure, _ f: Figure) -> Double {
        let ours = Stats.median(f.ours), peer = Stats.median(f.peer)
        switch m {
        case .value: return ours
        case .peerRatio: return ours / peer
        case .peerOverOurs: return peer / ours
        case .python:
            let py = f.python.map(Stats.median) ?? .nan
            return f.unit.hasSuffix("/s") ? ours / py : py / ours
        }
    }

    /// The table: target, measured, peer, ratio, verdict; a target whose figure this run did not
    /// measure says so.
    static func table(_ figures: [Figure]) -> String {
        var lines = ["| figure | target | measured (median) | peer (median, same run) | ratio | vs CPython | verdict |",
                     "|---|---|---|---|---|---|---|"]
        for t in all {
            guard let f = figures.first(where: { $0.name == t.figure }) else {
                lines.append("| \(t.figure) | \(t.goal) | not measured in this run | - | - | - | - |")
                continue
            }
            // Each bound judged on its own (a target with several can be half met).
            let verdicts = t.checks.map { c -> (met: Bool, text: String) in
                let v = value(c.measure, f)
                let met = !v.isNaN && (c.atLeast ? v >= c.bound : v <= c.bound)
                let what: String
                switch c.measure {
                case .value: what = "\(Report.fmt(c.bound)) \(f.unit)"
                case .peerRatio: what = "\(Report.fmt(c.bound))x the peer"
                case .peerOverOurs: what = "\(Report.fmt(c.bound))x (got \(Report.fmt(v))x)"
                case .python: what = "\(Report.fmt(c.bound))x CPython"
                }
                return (met, "\(c.atLeast ? ">=" : "<=") \(what): \(met ? "met" : "**missed**")")
            }
            let met = verdicts.allSatisfy(\.met)
            let verdict = verdicts.count == 1 && t.checks[0].measure != .peerOverOurs
                ? (met ? "met" : "**missed**") : verdicts.map(\.text).joined(separator: "; ")
            let py = f.python.map(Stats.median)
            let speed = value(.python, f)
            lines.append("| \(t.figure) | \(t.goal) | \(Report.fmt(Stats.median(f.ours))) \(f.unit) | \(f.peerName) \(Report.fmt(Stats.median(f.peer))) \(f.unit) | \(Report.fmt(value(.peerRatio, f)))x | \(py.map { "\(Report.fmt($0)) \(f.unit) (\(Report.fmt(speed))x)" } ?? "-") | \(verdict) |")
        }
        return lines.joined(separator: "\n")
    }

    static let begin = "<!-- forkline-bench --write-docs: begin (generated; edit Tools/bench/Targets.swift) -->"
    static let end = "<!-- forkline-bench --write-docs: end -->"

    /// Replaces the text between `begin` and `end` in docs/benchmarks.md (of the current
    /// directory) with this run's table, its date, commit and load.
    static func writeDocs(_ figures: [Figure], quick: Bool, only group: String? = nil) {
        let path = "docs/benchmarks.md"
        guard let page = read(path), let a = page.firstRange(of: begin), let b = page.firstRange(of: end) else {
            writeStderr("forkline-bench: \(path) (with its table markers) not found: run from the repository's root\n")
            return
        }
        var loads = [Double](repeating: 0, count: 3)
        _ = getloadavg(&loads, 3)
        let commit = firstLine(of: "git rev-parse --short HEAD")
        let date = firstLine(of: "date -u '+%Y-%m-%d %H:%M UTC'")
        let scope = group.map { "`\($0)` only (the other rows wait for a full run), " } ?? ""
        let header = "Run of \(date), commit \(commit.isEmpty ? "?" : commit), \(scope)\(quick ? "`--quick` (not to be quoted), " : "")load average \(Report.fmt(loads[0])) on \(sysconf(Int32(_SC_NPROCESSORS_ONLN))) CPUs."
        let text = page[..<a.upperBound] + "\n" + header + "\n\n" + table(figures) + "\n" + page[b.lowerBound...]
        guard Shell.write(String(text), to: path) else { return writeStderr("forkline-bench: cannot write \(path)\n") }
        print("wrote the table of \(path)")
    }

    /// The first line a command printed, without its newline ("" when none).
    static func firstLine(of command: String) -> String {
        guard let pipe = popen(command + " 2>/dev/null", "r") else { return "" }
        defer { pclose(pipe) }
        var buf = [CChar](repeating: 0, count: 256)
        guard fgets(&buf, 256, pipe) != nil else { return "" }
        return String(decoding: buf.prefix(while: { $0 != 0 && $0 != 10 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func read(_ path: String) -> String? {
        guard let f = fopen(path, "r") else { return nil }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes += buf[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
