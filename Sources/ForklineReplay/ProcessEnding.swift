import ForklineTraceFormat

/// How a process ended, as every view shows it: from its own `exit` or `crash` record, else from
/// what another process observed (its parent's `join` status, a pool's `workerReplaced`), with
/// the process that sent the signal when one recorded a `kill` or `terminate` naming it.
public struct ProcessEnding: Sendable, Hashable {
    /// The way it ended.
    public enum Kind: Sendable, Hashable {
        /// It exited with this code (recorded by itself, or only seen by its parent's join).
        case exited(Int32)
        /// It crashed with this signal and recorded a `crash` event.
        case crashed(Int32)
        /// It died of this signal without recording a crash: killed from outside (or by itself).
        case killed(Int32)
        /// Nothing says how it ended: it was still running, or its recording stopped early.
        case unknown
    }

    /// The way it ended.
    public var kind: Kind
    /// When it ended: its `exit`/`crash` time, else the first observation of its death (the
    /// join or replacement naming it: the death is at or before this), else its last event.
    public var time: UInt64
    /// True when `time` is the process's own end record; false when it is an upper bound.
    public var exact: Bool
    /// The event that observed the end (a `join`, or a `workerReplaced`), if any.
    public var observedBy: TraceEvent?
    /// The `kill` or `terminate` event naming this process whose signal it died of, if recorded.
    public var signalledBy: TraceEvent?
    /// Who sent the signal, as text (`main pid 4`, `the pool (task timeout)`), nil when unknown.
    public var sender: String?

    /// True for a death by a signal (crashed or killed): drawn in ``ProcessEnding/deathColor``.
    public var isDeath: Bool {
        switch kind {
        case .crashed, .killed: true
        default: false
        }
    }

    /// The one colour of a crash or a kill in every view (html, Perfetto's `cname` `terrible`).
    package static let deathColor = "#d62728"

    /// `exit 0`, `crashed: SIGSEGV`, `killed by SIGKILL from main pid 4`,
    /// `killed by SIGKILL (sender not recorded)`, `no end recorded`.
    public var summary: String {
        switch kind {
        case .exited(let c): return "exit \(c)"
        case .crashed(let s): return "crashed: \(signalName(s))"
        case .killed(let s): return "killed by \(signalName(s))" + (sender.map { " from \($0)" } ?? " (sender not recorded)")
        case .unknown: return "no end recorded (still running, or its recording stopped)"
        }
    }
}

extension Trace {
    /// How each process ended, by index in ``processes``.
    public var endings: [ProcessEnding] {
        // Observations of other processes' ends, and signals sent to them, by puid.
        var joins: [UInt64: TraceEvent] = [:], replaced: [UInt64: TraceEvent] = [:], signals: [UInt64: [TraceEvent]] = [:]
        for p in processes {
            for e in p.events {
                switch e.kind {
                case .join: if let c = e.childPuid, joins[c] == nil { joins[c] = e }
                case .kill, .terminate: if let c = e.childPuid { signals[c, default: []].append(e) }
                case .workerReplaced:
                    if let old = e["old"]?.uint, replaced[old] == nil { replaced[old] = e }
                default: break
                }
            }
        }
        return processes.map { p in
            let last = p.events.last { $0.kind != .modules }?.time ?? p.header.startTime
            let puid = p.header.puid
            if let end = p.end {
                let kind: ProcessEnding.Kind = end.kind == .crash ? .crashed(end.signalNumber ?? 0) : .exited(end.exitCode ?? 0)
                return ProcessEnding(kind: kind, time: end.time, exact: true, observedBy: joins[puid], signalledBy: nil, sender: nil)
            }
            let seen = [joins[puid], replaced[puid]].compactMap { $0 }.min { $0.time < $1.time }
            let time = max(last, seen?.time ?? last)
            guard let status = joins[puid]?.observedStatus else {
                if let r = replaced[puid], r["reason"]?.uint == 2 {
                    return ProcessEnding(kind: .killed(9), time: time, exact: false, observedBy: r, signalledBy: nil,
                                         sender: "\(senderName(r)) (task timeout)")
                }
                return ProcessEnding(kind: .unknown, time: last, exact: false, observedBy: seen, signalledBy: nil, sender: nil)
            }
            switch status {
            case .exited(let c):
                return ProcessEnding(kind: .exited(c), time: time, exact: false, observedBy: seen, signalledBy: nil, sender: nil)
            case .signaled(let s):
                let by = signals[puid]?.last { $0.signalNumber == s } ?? signals[puid]?.last
                var sender = by.map(senderName)
                if sender == nil, let r = replaced[puid], r["reason"]?.uint == 2 { sender = "\(senderName(r)) (task timeout)" }
                return ProcessEnding(kind: .killed(s), time: time, exact: false, observedBy: seen, signalledBy: by, sender: sender)
            }
        }
    }

    /// `main pid 4`: the name and pid of the process that recorded `e`.
    func senderName(_ e: TraceEvent) -> String {
        "\(process(e.puid)?.name ?? "?") pid \(e.pid)"
    }
}
