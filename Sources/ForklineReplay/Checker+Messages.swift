import ForklineTraceFormat

extension Trace {
    /// Invariant 4: every receive names a send on the same channel that the trace holds (and,
    /// being caused by it, does not precede it); no message is received twice; on a channel with
    /// one sending process, each receiving process gets its messages in send order. Messages
    /// never received are returned as notes, with the channel's state at the end.
    func checkMessages(_ v: inout [Violation], _ notes: inout [String]) {
        var closedBy: [UInt64: Int] = [:]
        var queues: Set<UInt64> = []  // channels opened as queues (channelOpen kind 3)
        for p in processes {
            for i in p.events.indices {
                switch p.events[i].kind {
                case .channelClose:
                    if let c = p.events[i].arg(Arg.channel)?.uint { closedBy[c, default: 0] += 1 }
                case .channelOpen:
                    if p.events[i].arg(Arg.channelKind)?.uint == 3, let c = p.events[i].arg(Arg.channel)?.uint { queues.insert(c) }
                default: break
                }
            }
        }
        // Sends by id, and per send (same index) the recv that took it first: positions, not
        // events, so the million-entry tables hold no references.
        var index = SendIndex(self)
        var received = [Position?](repeating: nil, count: index.sends.count)
        // Per channel (index in `index.channels`): the last sendSeq this process received on
        // it, and where; reset after each process through `touched`.
        var lastSeq = [UInt64](repeating: 0, count: index.channels.count)
        var lastAt = [Int](repeating: -1, count: index.channels.count)
        var touched: [Int] = []
        for (pi, p) in processes.enumerated() {
            for c in touched { lastAt[c] = -1 }
            touched.removeAll(keepingCapacity: true)
            for i in p.events.indices where p.events[i].kind == .recv {
                guard let channel = p.events[i].arg(Arg.channel)?.uint, let sender = p.events[i].arg(Arg.senderPuid)?.uint,
                      let seq = p.events[i].arg(Arg.sendSeq)?.uint else { continue }
                let id = EventID(puid: sender, seq: seq)
                guard let n = index.find(id), case let s = index.sends[n], s.channel >= 0, index.channels[s.channel] == channel else {
                    let why = process(sender) == nil ? "whose process is not in the trace" : "which is not a send on channel \(hex16(channel))"
                    v.append(Violation(.recvWithoutSend, "\(label(p)) received a message naming send \(id), \(why)", [p.events[i]]))
                    continue
                }
                let r = Position(process: pi, position: i)
                if p.events[i].time < processes[s.process].events[s.position].time {
                    v.append(Violation(.recvBeforeSend, "\(label(p)) received a message before it was sent", [event(s), p.events[i]]))
                }
                if let first = received[n] {
                    v.append(Violation(.duplicateRecv, "the message of send \(id) was received twice", [event(s), event(first), p.events[i]]))
                } else {
                    received[n] = r
                }
                if !index.manySenders[s.channel] {
                    let c = s.channel
                    if lastAt[c] >= 0, seq < lastSeq[c] {
                        v.append(Violation(.outOfOrderRecv, "\(label(p)) received messages of a one-producer channel out of send order", [p.events[lastAt[c]], p.events[i]]))
                    }
                    if lastAt[c] < 0 { touched.append(c) }
                    (lastSeq[c], lastAt[c]) = (seq, i)
                }
            }
        }
        // Unreceived sends, counted per channel; a send replaced by a later one with its id
        // (a second file for one process) is not counted.
        var unreceived = [Int](repeating: 0, count: index.channels.count)
        for (n, s) in index.sends.enumerated() where received[n] == nil && s.channel >= 0 {
            let e = processes[s.process].events[s.position]
            if index.find(e.id) == n { unreceived[s.channel] += 1 }
        }
        let counts = unreceived.indices.filter { unreceived[$0] > 0 }.map { (index.channels[$0], unreceived[$0]) }
        for (c, n) in counts.sorted(by: { $0.0 < $1.0 }) {
            if queues.contains(c) {
                // A queue has many ends: its messages outlive any one of them.
                notes.append("queue \(hex16(c)): \(n) message(s) never received; left in the queue when the trace ended, or taken by a process that died before recording it")
                continue
            }
            let state = closedBy[c, default: 0] >= 2 ? "closed by both ends" : (closedBy[c, default: 0] == 1 ? "closed by one end" : "still open (lost, or the trace ended first)")
            notes.append("channel \(hex16(c)): \(n) message(s) never received; channel \(state)")
        }
    }

    /// The event at a send's position.
    private func event(_ s: SendIndex.Send) -> TraceEvent { processes[s.process].events[s.position] }
    /// The event at `at`.
    private func event(_ at: Position) -> TraceEvent { processes[at.process].events[at.position] }
}

/// Where an event is: its process's index in ``Trace/processes`` and its position in that
/// process's events.
struct Position {
    var process: Int
    var position: Int
}
