// replay: check, show, export and count a Forkline trace. A thin shell over ForklineReplay.
import ArgumentParser
import ForklineReplay
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

@main
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Check, show and export Forkline traces.",
        discussion: "Exit status: 0 when the trace is sound, 1 when `check` finds violations, 2 when the input cannot be read.",
        subcommands: [Check.self, Show.self, Export.self, Stats.self])
}

struct TraceArgument: ParsableArguments {
    @Argument(help: "A trace directory (FORKLINE_TRACE) or one trace file (.flt or .jsonl).")
    var trace: String

    /// Loads the trace, or ends the program with status 2 and the reason.
    func load() -> Trace {
        do {
            let t = try Trace.load(path: trace)
            for u in t.unreadable { warn("replay: unreadable: \(u)") }
            return t
        } catch {
            warn("replay: \(error)")
            Foundationless.exit(2)
        }
    }
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
    @Option(help: "Width in columns (default: the terminal's, or 100).") var width: Int?
    @Option(help: "Only these pids (repeatable).") var pid: [Int32] = []

    func run() throws {
        let trace = input.load()
        var ws = winsize()
        let columns = ioctlWidth(&ws)
        let tl = Timeline(width: width ?? columns ?? 100, pids: pid.isEmpty ? nil : Set(pid), color: isatty(1) != 0)
        print(tl.render(trace), terminator: "")
        print(CheckReport.crashReport(trace), terminator: "")
    }

    func ioctlWidth(_ ws: inout winsize) -> Int? {
        guard isatty(1) != 0, ioctl(1, UInt(TIOCGWINSZ), &ws) == 0, ws.ws_col > 0 else { return nil }
        return Int(ws.ws_col)
    }
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Export the trace (jsonl: one JSON object per event).")
    @OptionGroup var input: TraceArgument
    @Option(help: "Output format: jsonl.") var format: String = "jsonl"
    @Option(name: .shortAndLong, help: "Write to this file instead of standard output.") var output: String?

    func validate() throws {
        guard format == "jsonl" else { throw ValidationError("unknown format '\(format)': supported: jsonl") }
    }

    func run() throws {
        let text = JSONLines.export(input.load())
        guard let output else { print(text, terminator: ""); return }
        guard let f = fopen(output, "w") else {
            warn("replay: cannot write \(output): \(String(cString: strerror(errno)))")
            Foundationless.exit(2)
        }
        fputs(text, f)
        fclose(f)
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Count processes and events.")
    @OptionGroup var input: TraceArgument
    @Flag(help: "Print {\"processes\": N, \"events\": {\"<kind>\": count}} as JSON.") var json = false

    func run() throws {
        let trace = input.load()
        print(json ? trace.statsJSON() : trace.statsText(), terminator: json ? "\n" : "")
    }
}
