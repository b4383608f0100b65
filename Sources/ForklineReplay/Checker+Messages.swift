import ForklineTrace

extension Trace {
    /// Invariant 4: every receive names a send on the same channel that the trace holds (and,
    /// being caused by it, does not precede it); no message is received twice; on a channel with
    /// one sending process, each receiving process gets its messages in send order. Messages
    /// never received are returned as notes, with the channel's state at the end.
    func checkMessages(_ v: inout [Violation], _ notes: inout [String]) {
        var sends: [EventID: TraceEvent] = [:]
        var senders: [UInt64: Set<UInt64>] = [:]  // channel -> sending puids
        var closedBy: [UInt64: Int] = [:]
        var queues: Set<UInt64> = []  // channels opened as queues (channelOpen kind 3)
        for p in processes {
            for e in p.events {
                switch e.kind {
                case .send:
                    sends[e.id] = e
                    if let c = e["channel"]?.uint { senders[c, default: []].insert(e.puid) }
                case .channelClose:
                    if let c = e["channel"]?.uint { closedBy[c, default: 0] += 1 }
                case .channelOpen:
                    if e["kind"]?.uint == 3, let c = e["channel"]?.uint { queues.insert(c) }
                default: break
                }
            }
        }
        var received: [EventID: TraceEvent] = [:]
        for p in processes {
            var lastSeqFrom: [UInt64: (UInt64, TraceEvent)] = [:]  // channel -> last sendSeq received here
            for r in p.events where r.kind == .recv {
                guard let channel = r["channel"]?.uint, let sender = r["senderPuid"]?.uint, let seq = r["sendSeq"]?.uint else { continue }
                let id = EventID(puid: sender, seq: seq)
                guard let send = sends[id], send["channel"]?.uint == channel else {
                    let why = process(sender) == nil ? "whose process is not in the trace" : "which is not a send on channel \(hex16(channel))"
                    v.append(Violation(.recvWithoutSend, "\(label(p)) received a message naming send \(id), \(why)", [r]))
                    continue
                }
                if r.time < send.time {
                    v.append(Violation(.recvBeforeSend, "\(label(p)) received a message before it was sent", [send, r]))
                }
                if let first = received[id] {
                    v.append(Violation(.duplicateRecv, "the message of send \(id) was received twice", [send, first, r]))
                } else {
                    received[id] = r
                }
                if senders[channel]?.count == 1 {
                    if let (last, prev) = lastSeqFrom[channel], seq < last {
                        v.append(Violation(.outOfOrderRecv, "\(label(p)) received messages of a one-producer channel out of send order", [prev, r]))
                    }
                    lastSeqFrom[channel] = (seq, r)
                }
            }
        }
        var unreceived: [UInt64: Int] = [:]
        for (id, s) in sends where received[id] == nil {
            if let c = s["channel"]?.uint { unreceived[c, default: 0] += 1 }
        }
        for (c, n) in unreceived.sorted(by: { $0.key < $1.key }) {
            if queues.contains(c) {
                // A queue has many ends: its messages outlive any one of them.
                notes.append("queue \(hex16(c)): \(n) message(s) never received; left in the queue when the trace ended, or taken by a process that died before recording it")
                continue
            }
            let state = closedBy[c, default: 0] >= 2 ? "closed by both ends" : (closedBy[c, default: 0] == 1 ? "closed by one end" : "still open (lost, or the trace ended first)")
            notes.append("channel \(hex16(c)): \(n) message(s) never received; channel \(state)")
        }
    }
}
