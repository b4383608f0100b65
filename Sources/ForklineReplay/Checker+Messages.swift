import ForklineTraceFormat

extension Arg {
    static let size = positions("size")
}

extension Trace {
    /// Invariant 4: every receive names a send on the same channel that the trace holds, with
    /// the send's size; no message is received twice; each receiving process gets each sender's
    /// messages on a channel in send order (per direction on a duplex connection, per producer
    /// on a queue); a message never received although a later one of its stream was, with no
    /// process that reads the channel dead, is lost. Other messages never received are returned
    /// as notes, with the channel's state at the end. (That a receive does not happen before its
    /// send is decided on the causal graph, with the other ordering rules: `checkCausality`.)
    func checkMessages(_ v: inout [Violation], _ notes: inout [String]) {
        var closedBy: [UInt64: Int] = [:]
        var channelKinds: [UInt64: UInt8] = [:]  // bit k: some process opened the channel as kind k
        var openers: [UInt64: [Int]] = [:]  // processes that opened a reading end (kind 0, 2, 3)
        for (pi, p) in processes.enumerated() {
            for i in p.events.indices {
                switch p.events[i].kind {
                case .channelClose:
                    if let c = p.events[i].arg(Arg.channel)?.uint { closedBy[c, default: 0] += 1 }
                case .channelOpen:
                    guard let c = p.events[i].arg(Arg.channel)?.uint, let k = p.events[i].arg(Arg.channelKind)?.uint, k < 8 else { continue }
                    channelKinds[c, default: 0] |= UInt8(1) << k
                    if k != 1, openers[c]?.last != pi { openers[c, default: []].append(pi) }
                default: break
                }
            }
        }
        // Sends by id, and per send (same index) the recv that took it first: positions, not
        // events, so the million-entry tables hold no references.
        var index = causalGraph.sends
        var received = [Position?](repeating: nil, count: index.sends.count)
        // Per stream (one sender on one channel, index in `index.streams`): the last sendSeq
        // this process received of it, and where; reset after each process through `touched`.
        var lastSeq = [UInt64](repeating: 0, count: index.streams.count)
        var lastAt = [Int](repeating: -1, count: index.streams.count)
        var touched: [Int] = []
        // Per stream: the highest sendSeq anyone received of it, and that recv.
        var maxSeq = [UInt64](repeating: 0, count: index.streams.count)
        var maxAt = [Position?](repeating: nil, count: index.streams.count)
        // Per channel (index in `index.channels`): the processes that received on it.
        var receivers = [[Int]](repeating: [], count: index.channels.count)
        // The argument tables in locals, and the send's size read in place: a copy of the send
        // event per recv (to read one number) retained its arguments, a million times.
        let channelAt = Arg.channel, senderAt = Arg.senderPuid, seqAt = Arg.sendSeq, sizeAt = Arg.size
        for (pi, p) in processes.enumerated() {
            for st in touched { lastAt[st] = -1 }
            touched.removeAll(keepingCapacity: true)
            for i in p.events.indices where p.events[i].kind == .recv {
                guard let channel = p.events[i].uintArg(channelAt), let sender = p.events[i].uintArg(senderAt),
                      let seq = p.events[i].uintArg(seqAt) else { continue }
                let id = EventID(puid: sender, seq: seq)
                guard let n = index.find(id), case let s = index.sends[n], s.channel >= 0, index.channels[s.channel] == channel else {
                    let why = process(sender).map { "which is not a send of \(label($0)) on \(channelName(channel, channelKinds))" }
                        ?? "whose process is not in the trace"
                    v.append(Violation(.recvWithoutSend, "\(label(p)) received a message on \(channelName(channel, channelKinds)) naming send \(id), \(why)", [p.events[i]]))
                    continue
                }
                let r = Position(process: pi, position: i)
                if let sent = processes[s.process].events[s.position].uintArg(sizeAt), let got = p.events[i].uintArg(sizeAt), sent != got {
                    let send = event(s)
                    v.append(Violation(.sizeMismatch, "\(label(p)) received \(got) bytes on \(channelName(channel, channelKinds)) for a message of \(sent) bytes that \(label(processes[s.process])) sent: a frame was cut, padded or misread",
                                       [send, p.events[i]]))
                }
                if let first = received[n] {
                    let send = event(s)
                    v.append(Violation(.duplicateRecv, "the message of send \(id) by \(label(processes[s.process])) on \(channelName(channel, channelKinds)) was received twice (by \(label(processes[first.process])) and \(label(p)))",
                                       [send, event(first), p.events[i]]))
                } else {
                    received[n] = r
                }
                if receivers[s.channel].last != pi { receivers[s.channel].append(pi) }
                let st = s.stream
                if lastAt[st] >= 0, seq < lastSeq[st] {
                    v.append(Violation(.outOfOrderRecv, "\(label(p)) received the messages of \(label(processes[s.process])) on \(channelName(channel, channelKinds)) out of send order (send #\(seq) after #\(lastSeq[st]))",
                                       [p.events[lastAt[st]], p.events[i]]))
                }
                if lastAt[st] < 0 { touched.append(st) }
                (lastSeq[st], lastAt[st]) = (seq, i)
                if maxAt[st] == nil || seq > maxSeq[st] { (maxSeq[st], maxAt[st]) = (seq, r) }
            }
        }
        // Unreceived sends, counted per channel; a send replaced by a later one with its id
        // (a second file for one process) is not counted. A send followed in its stream by a
        // received one is lost when every process that could have taken it ended cleanly.
        var unreceived = [Int](repeating: 0, count: index.channels.count)
        var lost: [Int: (first: Int, count: Int)] = [:]  // stream -> first lost send, count
        var cleanEnd: [Int: Bool] = [:]
        func ended(_ pi: Int) -> Bool {
            if let known = cleanEnd[pi] { return known }
            let p = processes[pi]
            let ok = p.events.last?.kind == .exit && p.damage.isEmpty && p.interrupted.isEmpty
                && !p.events.contains { $0.kind == .eventTruncated || $0.kind == .traceCut }
            cleanEnd[pi] = ok
            return ok
        }
        for (n, s) in index.sends.enumerated() where received[n] == nil && s.channel >= 0 {
            let e = processes[s.process].events[s.position]
            guard index.find(e.id) == n else { continue }
            if maxAt[s.stream] != nil, maxSeq[s.stream] > e.seq {
                let channel = index.channels[s.channel]
                let isQueue = (channelKinds[channel] ?? 0) & 8 != 0
                // Who could have taken it: every process that received on the channel, and
                // every one that opened a reading end of it (the sender's own duplex end reads
                // the other direction only).
                let takers = receivers[s.channel] + (openers[channel] ?? []).filter { isQueue || $0 != s.process }
                if takers.allSatisfy(ended) {
                    if let l = lost[s.stream] { lost[s.stream] = (l.first, l.count + 1) } else { lost[s.stream] = (n, 1) }
                    continue
                }
            }
            unreceived[s.channel] += 1
        }
        for (st, l) in lost.sorted(by: { $0.value.first < $1.value.first }) {
            let s = index.sends[l.first], channel = index.channels[s.channel]
            guard let later = maxAt[st] else { continue }
            let sender = processes[s.process], taker = processes[later.process]
            let laterSeq = maxSeq[st]
            v.append(Violation(.lostMessage, "\(l.count) message(s) of \(label(sender)) on \(channelName(channel, channelKinds)) were never received, though its later send #\(laterSeq) was (by \(label(taker))) and no process that reads the channel died: look for a receive that dropped or skipped a message, from send #\(event(s).seq) on",
                               [event(s), event(later)]))
        }
        let counts = unreceived.indices.filter { unreceived[$0] > 0 }.map { (index.channels[$0], unreceived[$0]) }
        for (c, n) in counts.sorted(by: { $0.0 < $1.0 }) {
            if (channelKinds[c] ?? 0) & 8 != 0 {
                // A queue has many ends: its messages outlive any one of them.
                notes.append("queue \(hex16(c)): \(n) message(s) never received; left in the queue when the trace ended, or taken by a process that died before recording it")
                continue
            }
            let state = closedBy[c, default: 0] >= 2 ? "closed by both ends" : (closedBy[c, default: 0] == 1 ? "closed by one end" : "still open (lost, or the trace ended first)")
            notes.append("channel \(hex16(c)): \(n) message(s) never received; channel \(state)")
        }
    }

    /// How violation messages name a channel: "queue 0x...", "connection 0x..." (duplex) or
    /// "pipe 0x...", by the kinds its ends were opened as.
    func channelName(_ channel: UInt64, _ kinds: [UInt64: UInt8]) -> String {
        let k = kinds[channel] ?? 0
        let what = k & 8 != 0 ? "queue" : (k & 4 != 0 ? "connection" : (k != 0 ? "pipe" : "channel"))
        return "\(what) \(hex16(channel))"
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
