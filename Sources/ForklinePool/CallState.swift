import ForklineTrace

/// How one chunk of a call ended, as the driver hands it to the caller.
enum ChunkOutcome: Sendable {
    /// The worker's reply, and the worker's pid.
    case reply(TaskReply, Int32)
    /// No reply: why. Boxed: a `PoolError` is some 150 bytes, and every table of outcomes (the
    /// driver's early ones, a map's collected ones, its caller's) held and copied that much per
    /// task; an outcome is now a few words.
    indirect case failure(PoolError)

    /// The `outcome` argument of `poolResult`.
    var traceCode: UInt64 {
        switch self {
        case .reply(.values, _), .reply(.valueBytes, _), .reply(.valueWord, _): 0
        case .reply: 1
        case .failure(let e):
            switch e.code {
            case .workerDied: 2
            case .timedOut: 3
            case .cancelled: 4
            case .terminated: 5
            case .workerStartFailed: 6
            // Never sent: its inputs could not be encoded (an encoding error from a worker comes
            // as a reply, `.badInput`).
            case .encoding: 7
            default: 1
            }
        }
    }
}

/// One call (a map, an imap, an apply) as the driver thread sees it: its tasks (chunks), and the
/// stream its caller reads outcomes from (or, for an awaited `apply`, the ``SingleOutcome`` the
/// driver thread resumes its caller from directly). Ordered calls release outcomes in input order
/// (the `poolResult` events show it); unordered calls as they come. Only the driver thread touches it.
final class CallState {
    let pool: UInt64
    let call: UInt64
    let ordered: Bool
    /// The first input index of each chunk.
    let starts: [Int]
    let continuation: AsyncStream<[(Int, ChunkOutcome)]>.Continuation
    /// Collecting calls (`map`) hand everything over at the end: one wake-up of the caller, not
    /// one per chunk. Streaming calls hand over what one `resolve` released, as one batch.
    let collect: Bool
    var collected: [(Int, ChunkOutcome)] = []
    var batch: [(Int, ChunkOutcome)] = []
    /// Outcomes of an ordered call that came before an earlier chunk's, by chunk: an array
    /// indexed by chunk (``TaskTable``), not a dictionary. The profile of tiny tasks at chunksize
    /// 1 had this call's hashing, and `collected` regrowing, at a quarter of the driver's time.
    var pending = TaskTable<ChunkOutcome>()
    var next = 0
    var released = 0
    /// Set for a one-task call whose caller awaits it in place (`apply`): its outcome goes there,
    /// not to the stream.
    let single: SingleOutcome?

    init(pool: UInt64, call: UInt64, ordered: Bool, collect: Bool, starts: [Int],
         continuation: AsyncStream<[(Int, ChunkOutcome)]>.Continuation, single: SingleOutcome? = nil) {
        self.single = single
        self.collect = collect
        self.pool = pool
        self.call = call
        self.ordered = ordered
        self.starts = starts
        self.continuation = continuation
        // Every outcome of a collecting call ends up here: one allocation, not a regrowth
        // (a copy of all so far) at each doubling.
        if collect && single == nil { collected.reserveCapacity(starts.count) }
    }

    /// A call dropped unfinished (never expected) must not leave an `apply` waiting forever: its
    /// caller gets what a stream's reader gets when the stream ends early.
    deinit {
        single?.abandon()
    }

    var done: Bool { released == starts.count }

    /// Chunk `chunk` (task `task`) ended with `outcome`.
    func resolve(chunk: Int, task: UInt64, taskBase: UInt64, _ outcome: ChunkOutcome) {
        var none: [(CallState, ChunkOutcome)]? = nil
        resolve(chunk: chunk, task: task, taskBase: taskBase, outcome, handOver: &none)
    }

    /// ``resolve(chunk:task:taskBase:_:)``; a one-task call (an `apply`) and its outcome are
    /// appended to `handOver` when it is not nil, for the driver to resume its caller once it has given
    /// the workers their next tasks (``PoolDriver/handOverSingles()``), instead of now.
    func resolve(chunk: Int, task: UInt64, taskBase: UInt64, _ outcome: ChunkOutcome,
                 handOver: inout [(CallState, ChunkOutcome)]?) {
        if !ordered {
            release(chunk, task: task, outcome, handOver: &handOver)
        } else if chunk == next {
            // The next one in order (the common case): released at once, then the ones that
            // came early and now follow it.
            release(chunk, task: task, outcome, handOver: &handOver)
            next += 1
            while !pending.isEmpty, let o = pending.removeValue(forKey: UInt64(next)) {
                release(next, task: taskBase + UInt64(next), o, handOver: &handOver)
                next += 1
            }
        } else {
            pending[UInt64(chunk)] = outcome
        }
        if !batch.isEmpty {
            continuation.yield(batch)
            batch = []
        }
        if done {
            if !collected.isEmpty { continuation.yield(collected) }
            collected = []
            continuation.finish()
        }
    }

    func release(_ chunk: Int, task: UInt64, _ outcome: ChunkOutcome, handOver: inout [(CallState, ChunkOutcome)]?) {
        Tracer.recordWords(.poolResult, pool, task, call, UInt64(starts[chunk]), outcome.traceCode)
        released += 1
        if let single {
            // The call itself is kept: dropped, it would abandon its caller first.
            if handOver != nil { handOver!.append((self, outcome)) } else { single.finish(outcome) }
            return
        }
        if collect { collected.append((chunk, outcome)) } else { batch.append((chunk, outcome)) }
    }
}
