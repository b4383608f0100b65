import ForklineTraceFormat

extension Trace {
    /// Each event's vector clock (process puid -> count), derived from the causal references
    /// only: an event's clock is the component-wise maximum of its predecessors' (the previous
    /// event of its process and the sources of edges arriving at it) with its own component
    /// incremented. So `a` happens before `b` exactly when `clock(a) < clock(b)`. `modules`
    /// records are bookkeeping and take no tick. Events on a causal cycle (only a damaged trace
    /// has one) are given clocks in file order, ignoring the edges that close the cycle.
    public func vectorClocks() -> [EventID: [UInt64: UInt64]] {
        let g = causalGraph
        var offsets: [Int] = [], total = 0
        for p in processes { offsets.append(total); total += p.events.count }
        var indegree = [Int](repeating: 0, count: total)
        for (pi, p) in processes.enumerated() where !p.events.isEmpty {
            for i in 1..<p.events.count { indegree[offsets[pi] + i] += 1 }
        }
        for list in g.edges { for e in list { indegree[offsets[e.toProcess] + e.toPosition] += 1 } }
        var clocks = [[UInt64: UInt64]?](repeating: nil, count: total)
        var ready: [(Int, Int)] = []
        for (pi, p) in processes.enumerated() where !p.events.isEmpty && indegree[offsets[pi]] == 0 { ready.append((pi, 0)) }
        // Merged-in clocks from cross edges, waiting for their targets.
        var pending = [[UInt64: UInt64]](repeating: [:], count: total)
        var edgeCursor = [Int](repeating: 0, count: processes.count)
        func settle(_ pi: Int, _ i: Int) {
            let p = processes[pi], flat = offsets[pi] + i
            var c = i > 0 ? (clocks[flat - 1] ?? [:]) : [:]
            for (k, v) in pending[flat] where v > c[k, default: 0] { c[k] = v }
            pending[flat] = [:]
            if p.events[i].kind != .modules { c[p.header.puid, default: 0] += 1 }
            clocks[flat] = c
        }
        func release(_ pi: Int, _ i: Int) {
            let flat = offsets[pi] + i
            let c = clocks[flat] ?? [:]
            while edgeCursor[pi] < g.edges[pi].count, g.edges[pi][edgeCursor[pi]].from <= i {
                let e = g.edges[pi][edgeCursor[pi]]
                edgeCursor[pi] += 1
                guard e.from == i else { continue }
                let t = offsets[e.toProcess] + e.toPosition
                for (k, v) in c where v > pending[t][k, default: 0] { pending[t][k] = v }
                indegree[t] -= 1
                if indegree[t] == 0 { ready.append((e.toProcess, e.toPosition)) }
            }
            if i + 1 < processes[pi].events.count {
                indegree[flat + 1] -= 1
                if indegree[flat + 1] == 0 { ready.append((pi, i + 1)) }
            }
        }
        var done = 0
        while done < total {
            if let (pi, i) = ready.popLast() {
                guard clocks[offsets[pi] + i] == nil else { continue }
                settle(pi, i)
                release(pi, i)
                done += 1
                continue
            }
            // A cycle: take the first unsettled event in file order.
            guard let flat = clocks.firstIndex(where: { $0 == nil }) else { break }
            let pi = offsets.lastIndex { $0 <= flat } ?? 0
            settle(pi, flat - offsets[pi])
            release(pi, flat - offsets[pi])
            done += 1
        }
        var out: [EventID: [UInt64: UInt64]] = [:]
        for (pi, p) in processes.enumerated() {
            for (i, e) in p.events.enumerated() { out[e.id] = clocks[offsets[pi] + i] ?? [:] }
        }
        return out
    }
}

/// A ShiViz log (time-space diagrams from vector-clock logs): `replay export --format shiviz`.
///
/// The first line is the regular expression ShiViz parses the log with (paste it into its
/// parser box; the log is the rest). Then one line per event, in an order that respects
/// happens-before: `HOST {"HOST": n, ...} kind(arg=value, ...)`, where a host is a process
/// (`<name>/<pid>`, the name cut to 13 characters) and the clock is ``Trace/vectorClocks()``.
public enum ShiVizLog {
    /// The parser regular expression written on the first line.
    public static let regex = #"(?<host>\S+) (?<clock>\{[^}]*\}) (?<event>.*)"#

    /// Renders `trace` as a ShiViz log.
    public static func export(_ trace: Trace) -> String {
        let clocks = trace.vectorClocks()
        var host: [UInt64: String] = [:], used: Set<String> = []
        for p in trace.processes where host[p.header.puid] == nil {
            // The name first (ShiViz cuts long labels in the middle), then the pid: short, distinct.
            let name = String(p.name.prefix(13).map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
            let base = "\(name)/\(p.header.pid)"
            var h = base, n = 2
            while used.contains(h) { h = "\(base)-\(n)"; n += 1 }
            used.insert(h)
            host[p.header.puid] = h
        }
        // Sort by the sum of the clock: a predecessor's clock is strictly smaller in every
        // component it has, so its sum is smaller too.
        var lines: [(UInt64, String)] = []
        for p in trace.processes {
            guard let h = host[p.header.puid] else { continue }
            for e in p.events where e.kind != .modules {
                let c = clocks[e.id] ?? [:]
                let parts = c.sorted { $0.key < $1.key }.compactMap { k, v in host[k].map { "\"\($0)\":\(v)" } }
                let text = Self.describe(e, host: host).replacingNewlines()
                lines.append((c.values.reduce(0, +), "\(h) {\(parts.joined(separator: ", "))} \(text)"))
            }
        }
        let ordered = lines.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        return regex + "\n\n" + ordered.joined(separator: "\n") + "\n"
    }
}

extension ShiVizLog {
    /// Short event text for ShiViz's log panel: processes by their host label (`child=...`),
    /// other ids cut to 6 hex digits, pids (in the host labels) and backtraces left out.
    static func describe(_ e: TraceEvent, host: [UInt64: String]) -> String {
        var parts: [String] = []
        for (spec, v) in zip(e.kind.arguments, e.args) {
            let isProcess = spec.name.hasSuffix("Puid") || (e.kind == .poolDispatch && spec.name == "worker")
                || (e.kind == .workerReplaced && (spec.name == "old" || spec.name == "new"))
            if case .backtrace = v { continue }
            if spec.name.hasSuffix("Pid") { continue }
            if isProcess, let u = v.uint {
                if u == 0 { continue }
                let label = spec.name.hasSuffix("Puid") ? String(spec.name.dropLast(4)) : spec.name
                parts.append("\(label)=\(host[u] ?? String(String(u, radix: 16).prefix(6)))")
                continue
            }
            var text = EventText.value(e.kind, spec, v)
            if text.hasPrefix("0x"), text.count > 8 { text = String(text.prefix(8)) + "…" }
            if text.count > 40 { text = String(text.prefix(40)) + "…" }
            parts.append("\(spec.name)=\(text)")
        }
        return "\(e.kind.name)(\(parts.joined(separator: ", ")))"
    }
}

extension String {
    func replacingNewlines() -> String { String(map { $0 == "\n" || $0 == "\r" ? " " : $0 }) }
}
