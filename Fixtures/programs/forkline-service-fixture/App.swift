// forkline-service-fixture: an argument-parser `@main` program (ForklineCommand) that runs pools
// the way a service does, for ForklineServiceTests. Each subcommand prints facts, one per line;
// the trace (FORKLINE_TRACE) is the rest of the oracle.
import ArgumentParser
import Forkline
import ForklineService

#if canImport(Glibc)
import Glibc
#endif

/// Sleeps `ms` milliseconds, returns `ms`.
let sleepMs = PoolFunction<Int, Int>("service-sleep-ms") { ms in
    usleep(UInt32(ms) * 1000)
    return ms
}
/// 1: SIGSEGV; otherwise returns its input.
let crashOn1 = PoolFunction<Int, Int>("service-crash-on-1") { x in
    if x == 1 { raise(SIGSEGV) }
    return x
}
let square = PoolFunction<Int, Int>("service-square") { $0 * $0 }

@main
struct ServiceFixture: ForklineCommand {
    static let forklineEntries: [any AnyEntryPoint] = [sleepMs, crashOn1, square, sleepAfterBegun, failingInit, power, identityChild, napper, fma, reverseBuffer]
    static let configuration = CommandConfiguration(
        commandName: "forkline-service-fixture",
        subcommands: [Shutdown.self, Telemetry.self, Command.self, Ready.self, Backpressure.self, Cancel.self, Porter.self, Buffers.self,
                      LightTasks.self])
}

/// Prints a line at once (the test reads lines of a process it may kill).
func say(_ s: String) {
    print(s)
    fflush(nil)
}
