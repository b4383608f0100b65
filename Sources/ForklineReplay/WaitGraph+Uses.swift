import ForklineTraceFormat

/// Who used each lock, channel, queue and synchronisation object, from one pass over the trace:
/// what ``Trace/waitGraph()`` needs to name who holds a lock or could end a wait.
struct ChannelUses {
    /// Each lock's (and rlock's) holds still open: the holder's puid by generation.
    var lockHolders: [UInt64: [UInt64: UInt64]] = [:]
    /// Processes that sent on, received from, or opened a sending end of each channel or queue
    /// (first use order), and those that closed it.
    var senders: [UInt64: [UInt64]] = [:]
    var receivers: [UInt64: [UInt64]] = [:]
    var openers: [UInt64: [UInt64]] = [:]
    var closed: Set<Pair> = []
    /// Semaphore units each process holds (acquires minus releases).
    var semHolds: [UInt64: [UInt64: Int]] = [:]
    /// Processes that ever ended a wait of each other kind: set an event, notified a condition,
    /// arrived at a barrier (by round), marked a queue item done.
    var wakers: [UInt64: [UInt64]] = [:]
    var barrierRounds: [UInt64: [UInt64: Set<UInt64>]] = [:]
    /// Children some join reaped.
    var joined: Set<UInt64> = []

    struct Pair: Hashable { var object: UInt64; var puid: UInt64 }

    /// Indexes `processes` (in ``Trace/processTree`` order, so the lists come out stable).
    init(_ processes: [ProcessTrace]) {
        func add(_ d: inout [UInt64: [UInt64]], _ k: UInt64, _ p: UInt64) {
            if !(d[k]?.contains(p) ?? false) { d[k, default: []].append(p) }
        }
        for p in processes {
            let me = p.header.puid
            for e in p.events {
                switch e.kind {
                case .lockAcquire:
                    if let l = e["lock"]?.uint, let g = e["generation"]?.uint { lockHolders[l, default: [:]][g] = me }
                case .lockRelease:
                    if let l = e["lock"]?.uint, let g = e["generation"]?.uint { lockHolders[l]?[g] = nil }
                case .rlockAcquire where e["depth"]?.uint == 1:
                    if let l = e["lock"]?.uint, let g = e["generation"]?.uint { lockHolders[l, default: [:]][g] = me }
                case .rlockRelease where e["depth"]?.uint == 0:
                    if let l = e["lock"]?.uint, let g = e["generation"]?.uint { lockHolders[l]?[g] = nil }
                case .send:
                    if let c = e["channel"]?.uint { add(&senders, c, me) }
                case .recv:
                    if let c = e["channel"]?.uint { add(&receivers, c, me) }
                case .channelOpen:
                    // Read ends (kind 0) cannot send; write ends, duplex ends and queue handles can.
                    if let c = e["channel"]?.uint, e["kind"]?.uint != 0 { add(&openers, c, me) }
                case .channelClose:
                    if let c = e["channel"]?.uint { closed.insert(Pair(object: c, puid: me)) }
                case .semAcquire:
                    if let s = e["semaphore"]?.uint { semHolds[s, default: [:]][me, default: 0] += 1 }
                case .semRelease:
                    if let s = e["semaphore"]?.uint { semHolds[s, default: [:]][me, default: 0] -= 1 }
                case .eventSet:
                    if let o = e["event"]?.uint { add(&wakers, o, me) }
                case .conditionNotify:
                    if let o = e["condition"]?.uint { add(&wakers, o, me) }
                case .queueTaskDone:
                    if let o = e["queue"]?.uint { add(&wakers, o, me) }
                case .barrierArrive:
                    if let o = e["barrier"]?.uint, let r = e["round"]?.uint {
                        add(&wakers, o, me)
                        barrierRounds[o, default: [:]][r, default: []].insert(me)
                    }
                case .join:
                    if let c = e.childPuid { joined.insert(c) }
                default:
                    break
                }
            }
        }
    }

    /// The open wait `b` of process `puid`, with who could end it.
    func resolve(_ b: TraceEvent, of puid: UInt64, live: Set<UInt64>) -> OpenWait {
        let kind = (b["what"]?.uint).flatMap { UInt8(exactly: $0) }.flatMap(WaitKind.init(rawValue:)) ?? .lock
        let object = b["object"]?.uint ?? 0
        var candidates: [UInt64] = []
        var known = true
        switch kind {
        case .lock, .rlock:
            // The open hold of the highest generation: at most one unless the trace is damaged.
            if let (_, holder) = lockHolders[object]?.max(by: { $0.key < $1.key }) { candidates = [holder] } else { known = false }
        case .semaphore:
            candidates = (semHolds[object] ?? [:]).filter { $0.value > 0 }.map(\.key).sorted()
            known = !candidates.isEmpty
        case .channel, .queueGet:
            // A queue's producers are the processes that put on it; only when none has, any
            // process holding a handle might.
            let sent = senders[object] ?? []
            candidates = kind == .queueGet && !sent.isEmpty ? sent : sent + (openers[object] ?? []).filter { !sent.contains($0) }
            known = !candidates.isEmpty
        case .queuePut:
            let took = receivers[object] ?? []
            candidates = took.isEmpty ? openers[object] ?? [] : took
            known = !candidates.isEmpty
        case .child:
            // A child that ended (not yet reaped) or is not in the trace: the join can end.
            if live.contains(object) { candidates = [object] } else { known = false }
        case .barrier:
            let here = barrierRounds[object]?[b["ref"]?.uint ?? 0] ?? []
            candidates = (wakers[object] ?? []).filter { !here.contains($0) }
            known = !candidates.isEmpty
        case .condition, .event, .queueJoin:
            candidates = wakers[object] ?? []
            known = !candidates.isEmpty
        }
        candidates.removeAll { $0 == puid && kind != .lock && kind != .rlock }
        let usable = candidates.filter { live.contains($0) && !closed.contains(Pair(object: object, puid: $0)) }
        let gone = candidates.filter { !usable.contains($0) }
        // A lock held by a process that ended is recovered by the next holder (robust mutex).
        if (kind == .lock || kind == .rlock), usable.isEmpty { known = false }
        return OpenWait(puid: puid, begin: b, kind: kind, object: object, satisfiers: usable, known: known && (candidates.count > 0), ended: gone)
    }
}
