import ForklineTraceFormat

extension Trace {
    /// The `deadlock` rule and the `stuck` note, from the wait-for graph where the trace ends
    /// (``waitGraph()``): a cycle of processes each blocked on a wait only the next can end is a
    /// violation; a wait that no live process can end although the trace names who could have
    /// (every sender of a channel or queue ended) is a note, since the trace cannot tell whether
    /// the program meant to end there. Traces without an open wait cost one scan of the events.
    func checkDeadlocks(_ violations: inout [Violation], _ notes: inout [String]) {
        guard processes.contains(where: { p in p.events.contains { $0.kind == .waitBegin } }) else { return }
        let graph = waitGraph()
        guard !graph.cycles.isEmpty || !graph.stuck.isEmpty else { return }
        var byProcess: [UInt64: [OpenWait]] = [:]
        for w in graph.waits { byProcess[w.puid, default: []].append(w) }
        for cycle in graph.cycles {
            var parts: [String] = []
            var events: [TraceEvent] = []
            for (i, p) in cycle.enumerated() {
                let next = cycle[(i + 1) % cycle.count]
                guard let w = byProcess[p]?.first(where: { $0.satisfiers.contains(next) }) else { continue }
                parts.append("\(name(p)) is blocked \(describe(w, graph))")
                events.append(w.begin)
            }
            let behind = graph.behind.isEmpty ? "" : "; blocked behind them: " + graph.behind.map(name).joined(separator: ", ")
            let kinds = Set(cycle.compactMap { p in byProcess[p]?.first?.kind })
            let advice = kinds.isSubset(of: [.lock, .rlock])
                ? "take the locks in one order in every process"
                : "look at which of them should send, release or end first"
            violations.append(Violation(.deadlock, "deadlock: " + parts.joined(separator: "; ") + behind + "; " + advice, events))
        }
        for w in graph.stuck {
            notes.append("stuck: \(name(w.puid)) is blocked \(describe(w, graph)); no live process can end this wait")
        }
    }
}
