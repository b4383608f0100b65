import ForklineTraceFormat

/// One causal edge between two processes, as the renderers draw it: an arrow from `from` to `to`.
///
/// Flows are the causal graph's cross edges (``CausalGraph``), so every reference the graph
/// follows is drawn, including ones for event kinds added later: a fork to its child's start, a
/// request to the forkserver's fork, a send to its recv, a lock release to the next acquire, a
/// child's last event to its join.
public struct Flow: Sendable, Hashable {
    /// The causing event.
    public var from: TraceEvent
    /// The caused event, in another process.
    public var to: TraceEvent

    /// An edge from `from` to `to`.
    public init(from: TraceEvent, to: TraceEvent) {
        self.from = from
        self.to = to
    }

    /// What the arrow stands for, from the two kinds' names: `fork`, `request`, `message`,
    /// `lock` (any `...Release` -> `...Acquire`), `join`, or `"<from kind>-><to kind>"` for kinds
    /// this version does not name.
    public var label: String {
        switch (from.kind.name, to.kind.name) {
        case ("fork", _): "fork"
        case ("request", _): "request"
        case ("send", _), (_, "recv"): "message"
        case ("lockRelease", _), (_, "lockAcquire"): "lock"
        case (_, "join"): "join"
        // Other hand-offs of a held resource (a semaphore, a re-entrant lock): release -> acquire.
        case (let a, let b) where a.hasSuffix("Release") && b.hasSuffix("Acquire"): "lock"
        case (let a, let b): "\(a)->\(b)"
        }
    }

    /// The time from cause to effect on the machine's monotonic clock (0 when the clock says the
    /// effect came first, which only a damaged trace shows).
    public var latency: UInt64 { to.time >= from.time ? to.time - from.time : 0 }
}

extension CausalGraph {
    /// For each process (by index), for each event position, the cross edges arriving there as
    /// (source process, source position). Built on demand; linear in the edges.
    func incoming(processCount: Int) -> [[Int: [(Int, Int)]]] {
        var inc = [[Int: [(Int, Int)]]](repeating: [:], count: processCount)
        for (p, list) in edges.enumerated() {
            for e in list where e.toProcess < processCount {
                inc[e.toProcess][e.toPosition, default: []].append((p, e.from))
            }
        }
        return inc
    }
}

extension Trace {
    /// Every cross-process causal edge (``Flow``), process by process in source order. Edges
    /// within one process (a lock released and taken again by the same process) are program
    /// order already and are left out.
    public var flows: [Flow] {
        let g = causalGraph
        var out: [Flow] = []
        for (pi, list) in g.edges.enumerated() {
            for e in list where e.toProcess != pi {
                let src = processes[pi].events[e.from], dst = processes[e.toProcess].events[e.toPosition]
                out.append(Flow(from: src, to: dst))
            }
        }
        return out
    }

    /// The time span of the trace's events (the `modules` record excluded), nil when empty.
    public var timeSpan: ClosedRange<UInt64>? {
        var lo = UInt64.max, hi = UInt64.min
        for p in processes {
            for e in p.events where e.kind != .modules {
                lo = min(lo, e.time)
                hi = max(hi, e.time)
            }
        }
        return lo <= hi ? lo...hi : nil
    }

    /// The process's role as the renderers label it: its start method (`root`, `fork`, `spawn`,
    /// `forkserver`), or `?` when it recorded no start.
    public func role(of p: ProcessTrace) -> String { p.method?.description ?? "?" }
}

/// Event descriptions shared by the renderers: the kind's name and its arguments by name, for
/// every kind (new kinds included), with backtraces and module lists summarised.
public enum EventText {
    /// `send(channel=0xc4, size=8)`.
    public static func describe(_ e: TraceEvent) -> String {
        let args = arguments(e).map { "\($0.name)=\($0.value)" }.joined(separator: ", ")
        return "\(e.kind.name)(\(args))"
    }

    /// The arguments as (name, text) pairs in table order.
    public static func arguments(_ e: TraceEvent) -> [(name: String, value: String)] {
        zip(e.kind.arguments, e.args).map { spec, v in (spec.name, value(e.kind, spec, v)) }
    }

    static func value(_ kind: EventKind, _ spec: ArgumentSpec, _ v: TraceValue) -> String {
        switch v {
        case .backtrace(let b): return b.frames.map { "\($0.count) frames" } ?? "unavailable"
        case .modules(let m): return "\(m.count) modules"
        default:
            switch ArgNames.display(kind, spec, v) {
            case .number(let n): return "\(n)"
            case .text(let s): return s
            case .flag(let b): return b ? "1" : "0"
            case .frames(let f): return "\(f.count) frames"
            }
        }
    }
}
