// Scenarios for the trace recorder's own faults (issue 12): events at and past the format's size
// limits, threads recording while `main` returns. Each prints facts, one per line.
import Dispatch
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum TraceFaults {
    /// Runs `name`; false when this file does not know it.
    static func run(_ name: String, count: Int) -> Bool {
        switch name {
        case "trace-limits":
            // Marks with labels at and past the string limit (65,535 bytes), and events whose
            // payloads straddle the record limit (524,256 bytes), then a last mark: every event
            // after an oversized one must still be in the trace.
            for n in [65_535, 65_536, 524_260] { Tracer.mark(String(repeating: "a", count: n)) }
            for frames in [65_529, 65_530, 65_532, 65_534] {
                // request: u64, an empty string, then the frames: 12 + 8 * frames payload bytes
                // (524,244 fits; 524,252 fits; 524,268 and 524,284 do not).
                Tracer.record(.request, [.uint(7), .string(""), .backtrace(Backtrace(frames: Array(repeating: 0x1000, count: frames)))])
            }
            Tracer.mark("after")
            print("done")
            return true
        case "trace-fills-on-this-thread":
            // Records `count` marks on a thread that takes SIGXFSZ as a plain program's main
            // thread does (this scenario's thread may have it blocked), for `ulimit -f` runs.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGXFSZ)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            for i in 0..<count { Tracer.mark(i % 2 == 0 ? "filling" : "the disk") }
            print("done")
            return true
        case "trace-crash-near-chunk-end":
            // Fork children that record k marks (k = 60...110: across the end of their first
            // 4 KiB chunk) and then segfault: the crash writer must find room without growing
            // the file inside the signal handler.
            for k in 60...110 {
                let c = ChildProcess(options: ChildOptions(method: .fork)) {
                    for _ in 0..<k { Tracer.mark("filling") }
                    Behaviours.crashHere()
                }
                do {
                    try c.start()
                    print("\(k) \(try c.join(timeout: .seconds(60)).map(String.init(describing:)) ?? "timeout")")
                } catch {
                    print("\(k) \(error)")
                }
            }
            return true
        case "trace-exit-race":
            // `count` threads mark as fast as they can while `main` returns (exit runs the
            // recorder's exit hook under them).
            for _ in 0..<max(count, 1) {
                DispatchQueue.global().async { while true { Tracer.mark("racing") } }
            }
            usleep(2_000)
            print("returning")
            exit(0)
        default:
            return false
        }
    }
}
