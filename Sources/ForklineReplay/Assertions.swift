import ForklineTraceFormat

/// An ordering fact a test asserted about a trace that does not hold. Its description says what
/// was expected, what the trace shows, and the part of the timeline around the events involved.
public struct TraceAssertionError: Error, Sendable, CustomStringConvertible {
    /// What was expected and why it does not hold.
    public var message: String
    /// The events involved.
    public var events: [TraceEvent]
    /// A few lanes of `replay show` around the events.
    public var excerpt: String

    public var description: String {
        var s = message + "\n"
        for (i, e) in events.enumerated() { s += "  [\(i + 1)] \(EventText.describe(e)) #\(e.seq) in pid \(e.pid) at \(e.time) ns\n" }
        return s + excerpt
    }
}

extension Trace {
    /// Asserts that `a` happens before `b` by the trace's causal references (``happensBefore(_:_:)``).
    /// - Throws: ``TraceAssertionError`` naming both events, with the timeline around them.
    public func expect(_ a: TraceEvent, happensBefore b: TraceEvent) throws(TraceAssertionError) {
        guard !happensBefore(a.id, b.id) else { return }
        let why = happensBefore(b.id, a.id) ? "it is the other way round" : "no causal path joins them (they are concurrent)"
        throw failure("expected \(a.kind.name) #\(a.seq) (pid \(a.pid)) to happen before \(b.kind.name) #\(b.seq) (pid \(b.pid)), but \(why)", [a, b])
    }

    /// Asserts that no causal path orders `a` and `b` either way.
    public func expect(_ a: TraceEvent, concurrentWith b: TraceEvent) throws(TraceAssertionError) {
        guard !areConcurrent(a.id, b.id) else { return }
        throw failure("expected \(a.kind.name) #\(a.seq) (pid \(a.pid)) and \(b.kind.name) #\(b.seq) (pid \(b.pid)) to be concurrent, but one happens before the other", [a, b])
    }

    /// Asserts that `child` is joined by its parent before `other` starts: "child 3 is joined
    /// before child 4 starts".
    public func expect(joined child: ProcessTrace, beforeStartOf other: ProcessTrace) throws(TraceAssertionError) {
        guard let start = other.start else {
            throw failure("expected \(label(other)) to start after \(label(child)) was joined, but it recorded no start", other.events.prefix(1).map { $0 })
        }
        guard let join = joinEvent(of: child) else {
            throw failure("expected \(label(child)) to be joined before \(label(other)) starts, but no join of it is in the trace", [start])
        }
        do { try expect(join, happensBefore: start) } catch {
            throw failure("expected \(label(child)) to be joined before \(label(other)) starts: " + error.message, [join, start])
        }
    }

    /// Asserts that no two processes hold one lock at once: holds of `lock` (or of every lock,
    /// when nil) taken in generation order each release before the next acquire, and no
    /// generation is acquired twice. Decided on the causal references alone: the release of
    /// generation g hands the lock to the acquire of g + 1, so that acquire is before the release
    /// only when a causal path leads from it to the release (a cycle); clocks of two processes
    /// are never compared, so a process whose clock is off by seconds passes.
    public func expectExclusive(lock: UInt64? = nil) throws(TraceAssertionError) {
        var acquires: [UInt64: [UInt64: [TraceEvent]]] = [:], releases: [UInt64: [UInt64: TraceEvent]] = [:]
        for p in processes {
            for e in p.events {
                guard let l = e["lock"]?.uint, let g = e["generation"]?.uint, lock == nil || lock == l else { continue }
                if e.kind == .lockAcquire { acquires[l, default: [:]][g, default: []].append(e) }
                if e.kind == .lockRelease { releases[l, default: [:]][g] = e }
            }
        }
        if let lock, acquires[lock] == nil {
            throw failure("expected holds of lock 0x\(String(lock, radix: 16)), but the trace has none", [])
        }
        for (l, gens) in acquires.sorted(by: { $0.key < $1.key }) {
            let name = "lock 0x\(String(l, radix: 16))"
            let order = gens.keys.sorted()
            for g in order {
                let holders = gens[g]!
                if holders.count > 1 {
                    throw failure("expected one holder of \(name) at a time, but generation \(g) was acquired by \(holders.count) processes at once", holders)
                }
                guard g < .max, let next = gens[g + 1]?.first else { continue }
                guard let rel = releases[l]?[g] else {
                    throw failure("expected \(name) to be released before generation \(g + 1) was acquired, but generation \(g) has no release", holders + [next])
                }
                if happensBefore(next.id, rel.id) {
                    throw failure("expected one holder of \(name) at a time, but generation \(g + 1) was acquired before generation \(g) was released", [rel, next])
                }
            }
        }
    }

    /// The join of `child` by any process, if the trace has one.
    public func joinEvent(of child: ProcessTrace) -> TraceEvent? {
        for p in processes {
            if let j = p.events.first(where: { $0.kind == .join && $0.childPuid == child.header.puid }) { return j }
        }
        return nil
    }

    /// A few lanes of the timeline around `events`: their processes, from a little before the
    /// first to a little after the last.
    public func excerpt(around events: [TraceEvent], width: Int = 100) -> String {
        guard let all = timeSpan else { return "(empty trace)\n" }
        guard let lo = events.map(\.time).min(), let hi = events.map(\.time).max() else {
            return Timeline(width: width).render(self)
        }
        let margin = max((hi - lo) / 2, (all.upperBound - all.lowerBound) / 20, 1)
        let from = lo > all.lowerBound + margin ? lo - margin - all.lowerBound : 0
        let to = min(hi + margin, all.upperBound) - all.lowerBound
        var tl = Timeline(width: width, pids: Set(events.map(\.pid)), from: from, to: to, backtraceFrames: 0)
        if events.isEmpty { tl.pids = nil }
        let lines = tl.render(self).split(separator: "\n", omittingEmptySubsequences: false).prefix { !$0.isEmpty }
        return lines.map { "  " + $0 + "\n" }.joined()
    }

    func failure(_ message: String, _ events: [TraceEvent]) -> TraceAssertionError {
        TraceAssertionError(message: message, events: events, excerpt: excerpt(around: events))
    }
}
