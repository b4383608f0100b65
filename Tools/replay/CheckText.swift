import ForklineReplay
import ForklineTrace

/// The human-readable form of `replay check` and the crash reports under `replay show`.
enum CheckText {
    static func render(_ report: CheckReport, _ trace: Trace) -> String {
        var out = ""
        if report.ok {
            out = "OK: \(report.processes) processes, \(report.events) events; every fork started, every child joined with its status."
        } else {
            out = "FAILED: \(report.violations.count) violation(s) in \(report.processes) processes, \(report.events) events\n"
            out += report.violations.map { "- \($0)" }.joined(separator: "\n")
        }
        let crashes = crashes(trace)
        return crashes.isEmpty ? out : out + "\n\n" + crashes
    }

    /// Each crash with its symbolised backtrace.
    static func crashes(_ trace: Trace) -> String {
        let sym = Symbolizer()
        var out = ""
        for p in trace.processes {
            for e in p.events where e.kind == .crash {
                let sig = signalName(Int32(truncatingIfNeeded: e["signal"]?.int ?? 0))
                out += "crash: pid \(p.header.pid) \(p.name) received \(sig)\n"
                guard let bt = e["backtrace"]?.backtrace, let frames = sym.symbolicate(bt, in: trace.modules(for: p), firstIsPC: true) else {
                    out += "    backtrace unavailable (libunwind could not be loaded)\n"
                    continue
                }
                for (i, f) in frames.prefix(24).enumerated() { out += "    \(i) \(f)\n" }
            }
        }
        return out
    }
}
