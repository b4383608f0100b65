import ForklineTraceFormat

/// The derived tracks of the Chrome export: hold slices and counter tracks.
extension ChromeTrace {
    /// One hold of a lock, RLock or semaphore by one process.
    struct Hold {
        var name: String
        var from: UInt64
        var to: UInt64
        var seq: UInt64
        var released: Bool
    }

    /// The holds in one process's events: a `lockAcquire` to the next `lockRelease` of that lock,
    /// an RLock's outermost acquire to the release that frees it, a semaphore unit from
    /// `semAcquire` to a `semRelease`. A hold still open at the end runs to `until`.
    static func holds(_ evs: [TraceEvent], until: UInt64) -> [Hold] {
        var open: [String: [TraceEvent]] = [:], out: [Hold] = []
        for e in evs {
            let key: String, acquire: Bool
            switch e.kind {
            case .lockAcquire, .lockRelease, .rlockAcquire, .rlockRelease:
                guard let l = e["lock"]?.uint else { continue }
                key = (e.kind == .lockAcquire || e.kind == .lockRelease ? "lock 0x" : "rlock 0x") + String(l, radix: 16)
                acquire = e.kind == .lockAcquire || e.kind == .rlockAcquire
            case .semAcquire, .semRelease:
                guard let s = e["semaphore"]?.uint else { continue }
                key = "semaphore 0x" + String(s, radix: 16)
                acquire = e.kind == .semAcquire
            default: continue
            }
            if acquire {
                open[key, default: []].append(e)
            } else if let a = open[key]?.popLast() {
                // An RLock hold ends when its outermost acquire is released.
                if open[key]?.isEmpty ?? true || !key.hasPrefix("rlock") {
                    out.append(Hold(name: key, from: a.time, to: max(e.time, a.time), seq: a.seq, released: true))
                }
            }
        }
        for (key, list) in open {
            // RLock: only the outermost open acquire is a hold.
            for a in key.hasPrefix("rlock") ? Array(list.prefix(1)) : list {
                out.append(Hold(name: key, from: a.time, to: max(until, a.time), seq: a.seq, released: false))
            }
        }
        return out.sorted { ($0.from, $0.seq) < ($1.from, $1.seq) }
    }

    /// Counter tracks (`ph` `C`): per pool (on its process), `pending tasks` (submitted, not yet
    /// delivered) and `busy workers` (tasks begun and not ended, a dead worker's task ending at
    /// its death); per queue (on the process that opened it first), `queue depth` (sent, not yet
    /// received).
    static func counters(_ trace: Trace, chromePid: [UInt64: Int64], ts: (UInt64) -> String) -> [String] {
        struct Step { var time: UInt64; var delta: Int }
        var pending: [UInt64: [Step]] = [:], busy: [UInt64: [Step]] = [:], depth: [UInt64: [Step]] = [:]
        var home: [UInt64: Int64] = [:], queueHome: [UInt64: Int64] = [:], queues: Set<UInt64> = []
        let endings = trace.endings
        for (i, p) in trace.processes.enumerated() {
            guard let cp = chromePid[p.header.puid] else { continue }
            var open: [UInt64: Int] = [:]
            for e in p.events {
                switch e.kind {
                case .poolCreate: if let id = e["pool"]?.uint, home[id] == nil { home[id] = cp }
                case .poolSubmit: if let id = e["pool"]?.uint { pending[id, default: []].append(Step(time: e.time, delta: 1)) }
                case .poolResult: if let id = e["pool"]?.uint { pending[id, default: []].append(Step(time: e.time, delta: -1)) }
                case .taskBegin:
                    if let id = e["pool"]?.uint { busy[id, default: []].append(Step(time: e.time, delta: 1)); open[id, default: 0] += 1 }
                case .taskEnd:
                    if let id = e["pool"]?.uint { busy[id, default: []].append(Step(time: e.time, delta: -1)); open[id, default: 0] -= 1 }
                case .channelOpen:
                    if let c = e["channel"]?.uint, e["kind"]?.uint == 3 {
                        queues.insert(c)
                        if queueHome[c] == nil { queueHome[c] = cp }
                    }
                case .send: if let c = e["channel"]?.uint { depth[c, default: []].append(Step(time: e.time, delta: 1)) }
                case .recv: if let c = e["channel"]?.uint { depth[c, default: []].append(Step(time: e.time, delta: -1)) }
                default: break
                }
            }
            for (id, n) in open where n > 0 { busy[id, default: []].append(Step(time: endings[i].time + 1, delta: -n)) }
        }
        var out: [String] = []
        func track(_ name: String, _ pid: Int64, _ key: String, _ steps: [Step]) {
            var level = 0
            for s in steps.sorted(by: { $0.time < $1.time }) {
                level += s.delta
                out.append("{\"name\":\(JSONLines.quote(name)),\"ph\":\"C\",\"pid\":\(pid),\"tid\":\(pid),\"ts\":\(ts(s.time)),\"args\":{\"\(key)\":\(max(0, level))}}")
            }
        }
        for id in home.keys.sorted() {
            guard let pid = home[id] else { continue }
            let tag = String(id, radix: 16).prefix(6)
            track("pool \(tag) pending tasks", pid, "pending", pending[id] ?? [])
            track("pool \(tag) busy workers", pid, "busy", busy[id] ?? [])
        }
        for c in queues.sorted() {
            guard let pid = queueHome[c] else { continue }
            track("queue \(String(c, radix: 16).prefix(6)) depth", pid, "depth", depth[c] ?? [])
        }
        return out
    }
}
