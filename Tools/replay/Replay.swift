// replay: check, show, export and count a Forkline trace. A thin shell over ForklineReplay.
import ArgumentParser
import ForklineReplay
import ForklineTraceFormat

#if canImport(Glibc)
import Glibc
#endif

@main
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Check, show, export and measure Forkline traces.",
        discussion: "Exit status: 0 when the trace is sound, 1 when `check` finds violations, 2 when the input cannot be read.",
        subcommands: [Check.self, Status.self, Show.self, HTML.self, Export.self, Stats.self])
}

struct TraceArgument: ParsableArguments {
    @Argument(help: "A trace directory (FORKLINE_TRACE) or one trace file (.flt or .jsonl); several, one per host, are merged (so is one directory holding a subdirectory per host).")
    var traces: [String]

    /// Loads the trace, or ends the program with status 2 and the reason.
    func load() -> Trace {
        do {
            let t = try Trace.load(paths: traces)
            for u in t.unreadable { warn("replay: unreadable: \(u)") }
            return t
        } catch {
            warn("replay: \(error)")
            Foundationless.exit(2)
        }
    }
}

/// The views' choice of clocks for a trace of several hosts.
struct ClockOption: ParsableArguments {
    @Flag(help: "Draw each host on its own clock (by default, hosts' clocks are aligned by the trace's cross-host causal links; see docs/cluster.md).")
    var ownClocks = false

    var align: Bool { !ownClocks }
}

func warn(_ s: String) {
    var line = s + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

enum Foundationless {
    static func exit(_ code: Int32) -> Never {
        fflush(nil)
        Glibc.exit(code)
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify fork/start pairing, per-process order and join semantics.")
    @OptionGroup var input: TraceArgument
    @Flag(help: "Print {\"ok\": bool, \"violations\": [...]} as JSON.") var json = false

    func run() throws {
        let trace = input.load()
        let report = trace.check()
        if json {
            print(report.json())
        } else {
            let crashes = CheckReport.crashReport(trace)
            print(report.text() + (crashes.isEmpty ? "" : "\n\n" + crashes))
        }
        Foundationless.exit(report.ok ? 0 : 1)
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Draw the trace as a timeline, one lane per process.")
    @OptionGroup var input: TraceArgument
    @OptionGroup var clocks: ClockOption
    @Option(help: "Width in columns (default: the terminal's, else $COLUMNS, else 100).") var width: Int?
    @Option(help: "Only these pids (repeatable).") var pid: [Int32] = []
    @Option(help: "Start of the time window after the first event: 250, 250ns, 1.5us, 2ms, 0.3s.") var from: String?
    @Option(help: "End of the time window after the first event (same units as --from).") var to: String?

    func validate() throws {
        for (name, v) in [("--from", from), ("--to", to)] {
            if let v, Timeline.parseDuration(v) == nil { throw ValidationError("\(name): '\(v)' is not a duration (250, 250ns, 1.5us, 2ms, 0.3s)") }
        }
    }

    func run() throws {
        let trace = input.load()
        let columns = width ?? terminalWidth() ?? getenv("COLUMNS").flatMap { Int(String(cString: $0)) } ?? 100
        let tl = Timeline(width: columns, pids: pid.isEmpty ? nil : Set(pid), color: isatty(1) != 0,
                          from: from.flatMap(Timeline.parseDuration), to: to.flatMap(Timeline.parseDuration),
                          alignClocks: clocks.align)
        print(tl.render(trace), terminator: "")
    }

    func terminalWidth() -> Int? {
        var ws = winsize()
        guard isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 else { return nil }
        return Int(ws.ws_col)
    }
}

struct HTML: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a self-contained HTML page with the timeline and the check verdict.")
    @OptionGroup var input: TraceArgument
    @OptionGroup var clocks: ClockOption
    @Option(name: .shortAndLong, help: "The page to write (default: standard output).") var output: String?

    func run() throws {
        write(HTMLPage.render(input.load(), alignClocks: clocks.align), to: output)
    }
}

/// Writes `text` to `path` (standard output when nil); exits 2 when the file cannot be written.
func write(_ text: String, to path: String?) {
    guard let path else { print(text, terminator: ""); return }
    guard let f = fopen(path, "w") else {
        warn("replay: cannot write \(path): \(String(cString: strerror(errno)))")
        Foundationless.exit(2)
    }
    fputs(text, f)
    if fclose(f) != 0 {
        warn("replay: cannot write \(path): \(String(cString: strerror(errno)))")
        Foundationless.exit(2)
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Export the trace: jsonl (one JSON object per event), chrome (Perfetto / chrome://tracing), shiviz (vector-clock log).")
    @OptionGroup var input: TraceArgument
    @OptionGroup var clocks: ClockOption
    @Option(help: "Output format: jsonl, chrome or shiviz.") var format: String = "jsonl"
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

    func validate() throws {
        guard ["jsonl", "chrome", "shiviz"].contains(format) else { throw ValidationError("unknown format '\(format)': supported: jsonl, chrome, shiviz") }
    }

    func run() throws {
        let trace = input.load()
        switch format {
        case "chrome": write(ChromeTrace.export(trace, alignClocks: clocks.align), to: output)
        case "shiviz": write(ShiVizLog.export(trace), to: output)
        default: write(JSONLines.export(trace), to: output)
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Per-process lifetime and busy time, channel latencies, hand-offs and the critical path.")
    @OptionGroup var input: TraceArgument
    @OptionGroup var clocks: ClockOption
    @Flag(help: "Print {\"processes\": N, \"events\": {\"<kind>\": count}, \"per_process\", \"channels\", \"flows\", \"critical_path\"} as JSON.") var json = false

    func run() throws {
        let trace = input.load()
        print(json ? trace.statsJSON(alignClocks: clocks.align) : trace.statsText(alignClocks: clocks.align), terminator: json ? "\n" : "")
    }
}
