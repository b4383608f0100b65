import ForklineTraceFormat

extension Trace {
    /// Invariant 5 (locks): no two holds of one lock overlap. Each acquire records the lock's
    /// generation, a hand-off counter kept in the lock's shared memory, so two acquires with one
    /// generation are two processes inside the lock at once. (An acquire of generation g+1 that
    /// happens before the release of generation g is an overlap too, found by `checkCausality`.)
    func checkLocks(_ v: inout [Violation]) {
        var acquires: [UInt64: [UInt64: [TraceEvent]]] = [:]  // lock -> generation -> acquires
        for p in processes {
            for i in p.events.indices where p.events[i].kind == .lockAcquire || p.events[i].kind == .lockRelease {
                let e = p.events[i]
                guard let lock = e["lock"]?.uint, let g = e["generation"]?.uint else { continue }
                if e.kind == .lockAcquire { acquires[lock, default: [:]][g, default: []].append(e) }
            }
        }
        for (lock, byGeneration) in acquires.sorted(by: { $0.key < $1.key }) {
            for (g, list) in byGeneration.sorted(by: { $0.key < $1.key }) {
                if list.count > 1 {
                    let who = list.map { e in process(e.puid).map(label) ?? "pid \(e.pid)" }.joined(separator: " and ")
                    v.append(Violation(.overlappingHolds, "lock \(hex16(lock)) was acquired \(list.count) times at generation \(g): held by \(who) at once (the acquires are listed below)", list))
                }
                // An acquire of generation g+1 that the release of g depends on is a cycle of the
                // causal graph (`checkCausality`); clocks of two processes are not compared.
            }
        }
    }
}
