// Scenarios for the recorder's chunks made ahead by its grower thread (issue 14 item 6): fork
// children started while the parent's next chunk is being made. Prints facts, one per line.
import Forkline

enum TraceGrow {
    /// Runs `name`; false when this file does not know it.
    static func run(_ name: String, count: Int) throws -> Bool {
        guard name == "trace-grow-fork" else { return false }
        // The parent is past the grow-ahead threshold (64 KiB chunks) before its first child and
        // forks one every `step` marks (a prime, so the forks fall at varying points of its
        // chunks: while the next chunk is being made, or made and waiting). Each child records
        // past the threshold too, so it needs a grower of its own; then the parent `count` more.
        let children = 6, perChild = 100_000, step = 7_919
        var handles: [ChildProcess] = []
        for _ in 0..<children {
            for _ in 0..<step { Tracer.mark("parent") }
            let child = ChildProcess(options: ChildOptions(method: .fork)) {
                for _ in 0..<perChild { Tracer.mark("child") }
            }
            try child.start()
            handles.append(child)
        }
        for _ in 0..<count { Tracer.mark("parent") }
        for h in handles { _ = try h.join(timeout: nil) }
        print("parent \(children * step + count) child \(perChild)")
        return true
    }
}
