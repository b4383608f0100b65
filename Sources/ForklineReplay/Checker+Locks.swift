import ForklineTraceFormat

extension Trace {
    /// Invariant 5 (locks): no two holds of one lock overlap. Each acquire records the lock's
    /// generation, a hand-off counter kept in the lock's shared memory, so two acquires with one
    /// generation are two processes inside the lock at once; an acquire of generation g+1 before
    /// the release of generation g (on the machine's one monotonic clock) is an overlap too.
    func checkLocks(_ v: inout [Violation]) {
        var acquires: [UInt64: [UInt64: [TraceEvent]]] = [:]  // lock -> generation -> acquires
        var releases: [UInt64: [UInt64: TraceEvent]] = [:]
        for p in processes {
            for i in p.events.indices where p.events[i].kind == .lockAcquire || p.events[i].kind == .lockRelease {
                let e = p.events[i]
                guard let lock = e["lock"]?.uint, let g = e["generation"]?.uint else { continue }
                if e.kind == .lockAcquire { acquires[lock, default: [:]][g, default: []].append(e) }
                if e.kind == .lockRelease { releases[lock, default: [:]][g] = e }
            }
        }
        for (lock, byGeneration) in acquires.sorted(by: { $0.key < $1.key }) {
            for (g, list) in byGeneration.sorted(by: { $0.key < $1.key }) {
                if list.count > 1 {
                    v.append(Violation(.overlappingHolds, "lock \(hex16(lock)) was acquired \(list.count) times at generation \(g): held by two processes at once", list))
                }
                if g < .max, let next = byGeneration[g + 1]?.first, let release = releases[lock]?[g], next.time < release.time {
                    v.append(Violation(.overlappingHolds, "lock \(hex16(lock)) was acquired (generation \(g + 1)) before its previous holder released it", [release, next]))
                }
            }
        }
    }
}
