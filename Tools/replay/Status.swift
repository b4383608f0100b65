import ArgumentParser
import ForklineReplay

#if canImport(Glibc)
import Glibc
#endif

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Who waits for whom: one line per live process (blocked on what, since when, who could end it), the wait-for graph, deadlocks.",
        discussion: "Reads the trace of a running program (its files are read as far as they are written) or of a killed one. Exit status 0.")
    @OptionGroup var input: TraceArgument
    @OptionGroup var clocks: ClockOption

    func run() throws {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let now = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        print(input.load().statusText(now: now, alignClocks: clocks.align))
    }
}
