import ForklineTraceFormat

/// Every `send` of a trace, found by its id without hashing each one: the checker's message rule
/// looks up one send per `recv`, so on a message-heavy trace this is its hot path.
///
/// Per sending puid a table indexed by sequence number (they are dense in an undamaged file)
/// holds the send's position in ``sends``; ids whose sequence number is beyond the file's event
/// count (a damaged record) go to a dictionary. As with a dictionary keyed by id, a later send
/// with the same id (a second file for one process) replaces the earlier one.
struct SendIndex {
    /// Where a send is, and its channel as an index into ``channels`` (-1: the send names none).
    struct Send {
        var process: Int
        var position: Int
        var channel: Int
    }

    /// Every send event in trace order, including ones a later send with the same id replaced.
    private(set) var sends: [Send] = []
    /// The distinct channels the sends name, in first-seen order.
    private(set) var channels: [UInt64] = []
    /// Per channel (same index): the first sending puid, and whether another puid sent on it too.
    private(set) var firstSender: [UInt64] = []
    private(set) var manySenders: [Bool] = []

    private var channelIndex: [UInt64: Int] = [:]
    private var slotOf: [UInt64: Int] = [:]
    /// Per slot (sending puid), indexed by sequence number: position in `sends` + 1, 0 for none.
    private var bySeq: [[Int32]] = []
    private var sparse: [EventID: Int] = [:]
    private var lastPuid: UInt64 = 0
    private var lastSlot = -1

    /// Indexes the sends of `trace`.
    init(_ trace: Trace) {
        var count = 0
        for p in trace.processes {
            for i in p.events.indices where p.events[i].kind == .send { count += 1 }
        }
        sends.reserveCapacity(count)
        for (pi, p) in trace.processes.enumerated() {
            for i in p.events.indices where p.events[i].kind == .send {
                let channel = p.events[i].arg(Arg.channel)?.uint
                var c = -1
                if let channel {
                    if let known = channelIndex[channel] {
                        c = known
                        if !manySenders[c], firstSender[c] != p.events[i].puid { manySenders[c] = true }
                    } else {
                        c = channels.count
                        channelIndex[channel] = c
                        channels.append(channel)
                        firstSender.append(p.events[i].puid)
                        manySenders.append(false)
                    }
                }
                insert(EventID(puid: p.events[i].puid, seq: p.events[i].seq), at: sends.count, denseLimit: p.events.count)
                sends.append(Send(process: pi, position: i, channel: c))
            }
        }
    }

    /// The position in ``sends`` of the (last) send with this id.
    mutating func find(_ id: EventID) -> Int? {
        let slot: Int
        if id.puid == lastPuid, lastSlot >= 0 {
            slot = lastSlot
        } else if let s = slotOf[id.puid] {
            (lastPuid, lastSlot, slot) = (id.puid, s, s)
        } else {
            return sparse.isEmpty ? nil : sparse[id]
        }
        if id.seq < UInt64(bySeq[slot].count) {
            let n = Int(bySeq[slot][Int(id.seq)])
            if n > 0 { return n - 1 }
        }
        return sparse.isEmpty ? nil : sparse[id]
    }

    private mutating func insert(_ id: EventID, at n: Int, denseLimit: Int) {
        let slot: Int
        if id.puid == lastPuid, lastSlot >= 0 {
            slot = lastSlot
        } else if let s = slotOf[id.puid] {
            slot = s
        } else {
            slot = bySeq.count
            slotOf[id.puid] = slot
            bySeq.append([])
        }
        (lastPuid, lastSlot) = (id.puid, slot)
        if id.seq < UInt64(denseLimit), n < Int(Int32.max) {
            let seq = Int(id.seq)
            if seq >= bySeq[slot].count {
                bySeq[slot].append(contentsOf: repeatElement(0, count: max(seq + 1, denseLimit) - bySeq[slot].count))
            }
            bySeq[slot][seq] = Int32(n + 1)
            if !sparse.isEmpty { sparse[id] = nil }
        } else {
            sparse[id] = n
            if id.seq < UInt64(bySeq[slot].count) { bySeq[slot][Int(id.seq)] = 0 }
        }
    }
}
