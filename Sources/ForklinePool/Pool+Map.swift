import FoundationEssentials
import ForklineTrace
import ForklineSystem

extension Pool {
    /// Python's automatic chunk size: `ceil(count / (4 * workers))`.
    public func automaticChunksize(for count: Int) -> Int {
        let (q, r) = count.quotientAndRemainder(dividingBy: max(1, workers * 4))
        return max(1, q + (r > 0 ? 1 : 0))
    }

    /// The inputs per task of a call of `f` on `count` inputs: `chunksize`, else automatic,
    /// ``automaticChunksize(for:)`` but, for scalars in and out (``ScalarChunks``), no more
    /// than a record of the shared rings holds, task and reply (about 65,500 values): a larger
    /// chunk went over the connection both ways (a 1 MB chunk, in the automatic-chunk profile:
    /// the driver's socket read and its frame's copies, the message's copies on both sides; the
    /// driver thread had 42% of all samples), where the rings copy it once each way.
    func chunkSize<In, Out>(_ f: PoolFunction<In, Out>, count: Int, chunksize: Int?) -> Int {
        if let chunksize { return max(1, chunksize) }
        let automatic = automaticChunksize(for: count)
        guard ScalarChunks.wordTag(In.self) != nil, ScalarChunks.wordTag(Out.self) != nil else { return automatic }
        // A `run` record of one job and a `values` reply record, each holding an empty chunk of
        // scalars (its tag and count), then 8 bytes a value.
        let empty = ScalarChunks.words(ScalarChunks.intTag, ArraySlice<Int>())
        let run = WorkerMessage.run([.init(task: 0, function: f.name, payload: empty[...])]).encodedSize
        let reply = WorkerMessage.reply(0, .values(empty)).encodedSize
        let most = min(TaskRing.largest - TaskRing.recordHeader - run, ReplyRing.largest - ReplyRing.recordHeader - reply) / 8
        return max(1, min(automatic, most))
    }

    /// Submits `inputs` as chunks; returns the call's outcome stream and its task ids.
    ///
    /// - Parameters:
    ///   - admitted: the room in `maxPending` the caller already took (``admit(_:chunksize:)``);
    ///     nil: take it now or throw `overloaded`.
    ///   - single: a one-task call's outcome goes there instead of the stream (`apply`).
    func submit<In, Out>(_ f: PoolFunction<In, Out>, _ inputs: [In], chunksize: Int?, timeout: Duration?,
                         ordered: Bool, collect: Bool = false, admitted: Int? = nil,
                         single: SingleOutcome? = nil) throws(PoolError) -> (AsyncStream<[(Int, ChunkOutcome)]>, [UInt64], [Int]) {
        let admission = driver.admission
        let size = chunkSize(f, count: inputs.count, chunksize: chunksize)
        var payloads: [[UInt8]] = []
        var failed: [Int: PoolError] = [:]
        // One `[UInt8]` a task: each task's payload is its input itself, not a copy in a chunk
        // (its chunk is written around it, into the task ring: WorkerMessage.Job.rawBytes).
        let rawBytes = size == 1 && In.self == [UInt8].self
        if rawBytes {
            payloads = unsafeBitCast(inputs, to: [[UInt8]].self)
        } else if !inputs.isEmpty {
            do { payloads = try JSONChunks.encodeChunks(inputs, chunksize: size) } catch {
                // An input cannot be encoded: chunk by chunk, so that only the chunks holding
                // one fail (at their place in the call's order); the others run.
                (payloads, failed) = JSONChunks.encodeEachChunk(inputs, chunksize: size)
            }
        }
        if let admitted {
            admission.release(admitted - payloads.count)
        } else {
            try admission.admitNow(payloads.count)
        }
        guard let (call, first) = reserve(payloads.count) else {
            admission.release(payloads.count)
            throw PoolError(.closed, "pool \(hex16(id)) is closed: it takes no new tasks")
        }
        let starts = payloads.indices.map { $0 * size }
        let (stream, continuation) = AsyncStream<[(Int, ChunkOutcome)]>.makeStream()
        if payloads.isEmpty { continuation.finish() }
        for (i, start) in starts.enumerated() {
            Tracer.recordWords(.poolSubmit, id, first + UInt64(i), call, UInt64(start), UInt64(min(size, inputs.count - start)), ordered ? 1 : 0)
        }
        let state = CallState(pool: id, call: call, ordered: ordered, collect: collect, starts: starts, continuation: continuation, single: single)
        let timeoutNs = (timeout ?? defaultTimeout)?.clampedNanoseconds
        driver.send(.submit(CallSubmission(state: state, firstTask: first, function: f.name, payloads: payloads, failed: failed, timeout: timeoutNs,
                                         rawBytes: rawBytes)))
        let tasks = payloads.indices.map { first + UInt64($0) }
        return (stream, tasks, starts.enumerated().map { i, s in min(size, inputs.count - s) })
    }

    /// Applies `f` to every input in the workers and returns the outputs in input order
    /// (Python's `map`). Throws the first failure in input order.
    ///
    /// - Parameters:
    ///   - chunksize: inputs per task (default: automatic, `ceil(count / (4 * workers))`; for
    ///     scalars in and out at most about 65,500, what a record of the shared rings holds).
    ///   - timeout: per task (chunk); default: the pool's.
    /// - Throws: ``PoolError``: `taskFailed`, `workerDied`, `timedOut`, `closed`, ...;
    ///   `CancellationError` when the calling task is cancelled.
    public func map<In, Out>(_ f: PoolFunction<In, Out>, _ inputs: some Sequence<In>, chunksize: Int? = nil,
                             timeout: Duration? = nil) async throws -> [Out] {
        let items = Array(inputs)
        let size = chunkSize(f, count: items.count, chunksize: chunksize)
        let admitted = try await admit(items.count, chunksize: size)
        let (stream, tasks, counts) = try submit(f, items, chunksize: size, timeout: timeout, ordered: true, collect: true, admitted: admitted)
        var outcomes = [ChunkOutcome?](repeating: nil, count: tasks.count)
        try await withTaskCancellationHandler {
            for await batch in stream {
                for (chunk, outcome) in batch { outcomes[chunk] = outcome }
            }
            try Task.checkCancellation()
        } onCancel: { driver.send(.cancel(tasks)) }
        // Fastest path: every chunk was one scalar (chunksize 1): their words, in order.
        if let words = Pool.joinedWords(outcomes, as: Out.self) { return words }
        // Fast path: every chunk succeeded; one decode of all the values.
        var arrays: [[UInt8]] = []
        arrays.reserveCapacity(outcomes.count)
        for o in outcomes {
            guard case .reply(.values(let b), _)? = o else { break }
            arrays.append(b)
        }
        if arrays.count == outcomes.count {
            do { return try JSONChunks.decodeAll(arrays, as: Out.self) } catch {
                throw PoolError(.encoding, "\(f.name): cannot decode its outputs as [\(Out.self)]: \(error)")
            }
        }
        var out: [Out] = []
        out.reserveCapacity(items.count)
        for (o, n) in zip(outcomes, counts) {
            guard let o else { throw CancellationError() }
            for r in Pool.items(o, count: n, as: Out.self, function: f.name) { out.append(try r.get()) }
        }
        return out
    }

    /// Python's `starmap`: each input is a pair of arguments.
    public func starmap<A, B, Out>(_ f: PoolFunction<Arguments2<A, B>, Out>, _ inputs: some Sequence<(A, B)>,
                                   chunksize: Int? = nil, timeout: Duration? = nil) async throws -> [Out] {
        try await map(f, inputs.map { Arguments2($0.0, $0.1) }, chunksize: chunksize, timeout: timeout)
    }

    /// Lazily yields the outputs in input order as they become available (Python's `imap`).
    /// Iterating throws at the first failed item; the items after it are still computed.
    public func imap<In, Out>(_ f: PoolFunction<In, Out>, _ inputs: some Sequence<In>, chunksize: Int = 1,
                              timeout: Duration? = nil) throws(PoolError) -> PoolResults<Out> {
        let (stream, tasks, counts) = try submit(f, Array(inputs), chunksize: chunksize, timeout: timeout, ordered: true)
        return PoolResults(stream: stream, counts: counts, function: f.name, cancel: { [driver] in driver.send(.cancel(tasks)) })
    }

    /// Yields the outputs as they finish, in any order (Python's `imap_unordered`).
    public func imapUnordered<In, Out>(_ f: PoolFunction<In, Out>, _ inputs: some Sequence<In>, chunksize: Int = 1,
                                       timeout: Duration? = nil) throws(PoolError) -> PoolResults<Out> {
        let (stream, tasks, counts) = try submit(f, Array(inputs), chunksize: chunksize, timeout: timeout, ordered: false)
        return PoolResults(stream: stream, counts: counts, function: f.name, cancel: { [driver] in driver.send(.cancel(tasks)) })
    }

    /// Runs `f(input)` in a worker and returns its output (Python's `apply`).
    public func apply<In, Out>(_ f: PoolFunction<In, Out>, _ input: In, timeout: Duration? = nil) async throws -> Out {
        let admitted = try await admit(1, chunksize: 1)
        let one = SingleOutcome()
        let (_, tasks, _) = try submit(f, [input], chunksize: 1, timeout: timeout, ordered: true, admitted: admitted, single: one)
        return try await awaitApplied(one, f, tasks: tasks)
    }

    /// Takes room in `maxPending` for `count` inputs in chunks of `chunksize` (waiting for it
    /// under ``PoolBackpressure/wait``); returns the number of tasks it took.
    func admit(_ count: Int, chunksize: Int?) async throws -> Int {
        guard driver.admission.limit != nil, count > 0 else { return 0 }
        let size = max(1, chunksize ?? automaticChunksize(for: count))
        let tasks = (count + size - 1) / size
        try await driver.admission.admit(tasks)
        return tasks
    }

    /// Submits `f(input)` and returns a handle to await its output (Python's `apply_async`).
    ///
    /// - Parameters:
    ///   - callback: called once, in this process, with the output when the task succeeds
    ///     (Python's `callback=`), before the handle is ready.
    ///   - errorCallback: called once, in this process, with the task's error otherwise
    ///     (Python's `error_callback=`).
    public func applyAsync<In, Out>(_ f: PoolFunction<In, Out>, _ input: In, timeout: Duration? = nil,
                                    callback: (@Sendable (Out) -> Void)? = nil,
                                    errorCallback: (@Sendable (PoolError) -> Void)? = nil) throws(PoolError) -> PoolTask<Out> {
        // Completed by the driver thread itself (PoolTask+Single): one hop, no task of its own.
        let one = SingleOutcome()
        let (_, tasks, _) = try submit(f, [input], chunksize: 1, timeout: timeout, ordered: true, single: one)
        return PoolTask(single: one, function: f.name, cancel: { [driver] in driver.send(.cancel(tasks)) },
                        notify: PoolTask.notifier(callback, errorCallback))
    }

    /// A map's results when every outcome is a one-word reply of `Out` (a scalar,
    /// ``TaskReply/valueWord(tag:bits:)``), in one array of its final size; nil otherwise (the
    /// caller then takes the general path, which also reports failures in order).
    static func joinedWords<Out>(_ outcomes: [ChunkOutcome?], as: Out.Type) -> [Out]? {
        guard let tag = ScalarChunks.wordTag(Out.self) else { return nil }
        var whole = true
        let out = [Out](unsafeUninitializedCapacity: outcomes.count) { buf, n in
            n = 0
            guard let to = buf.baseAddress else { return }
            var i = 0
            while i < outcomes.count {
                guard case .reply(.valueWord(let t, let b), _)? = outcomes[i], t == tag else {
                    // The values stored so far are scalars: nothing to deinitialize.
                    whole = false
                    return
                }
                if MemoryLayout<Out>.size == 8 {
                    UnsafeMutableRawPointer(to).storeBytes(of: b, toByteOffset: 8 * i, as: UInt64.self)
                } else {
                    (to + i).initialize(to: ScalarChunks.value(word: b, as: Out.self))
                }
                i += 1
            }
            n = outcomes.count
        }
        return whole ? out : nil
    }

    /// The per-item results of one chunk's outcome.
    static func items<Out: Codable>(_ outcome: ChunkOutcome, count: Int, as: Out.Type, function: String) -> [Result<Out, PoolError>] {
        func all(_ e: PoolError) -> [Result<Out, PoolError>] { Array(repeating: .failure(e), count: count) }
        switch outcome {
        case .failure(let e): return all(e)
        case .reply(.values(let b), _):
            guard let v = try? JSONChunks.decodeChunk(b, as: Out.self), v.count == count else {
                return all(PoolError(.encoding, "\(function): cannot decode its outputs as [\(Out.self)]"))
            }
            return v.map { .success($0) }
        case .reply(.valueBytes(let b), _):
            // The one `[UInt8]` output itself (a `values` chunk of it, copied out of the ring
            // straight into its array): no decode.
            if count == 1, let v = b as? Out { return [.success(v)] }
            guard let v = try? JSONChunks.decodeChunk(ScalarChunks.byteArrays([b][...]), as: Out.self), v.count == count else {
                return all(PoolError(.encoding, "\(function): cannot decode its outputs as [\(Out.self)]"))
            }
            return v.map { .success($0) }
        case .reply(.valueWord(let tag, let bits), _):
            if count == 1, let v = ScalarChunks.word(tag, bits, as: Out.self) { return [.success(v)] }
            guard let v = try? JSONChunks.decodeChunk(TaskReply.valueWord(tag: tag, bits: bits).valueChunk!, as: Out.self), v.count == count else {
                return all(PoolError(.encoding, "\(function): cannot decode its outputs as [\(Out.self)]"))
            }
            return v.map { .success($0) }
        case .reply(.mixed(let b), let pid):
            guard let v = try? JSONChunks.decodeOutcomes(b, as: Out.self), v.count == count else {
                return all(PoolError(.encoding, "\(function): cannot decode its outputs as [\(Out.self)]"))
            }
            return v.map { o in
                switch o {
                case .value(let x): return .success(x)
                case .thrown(let type, let description, let backtrace):
                    var e = PoolError(.taskFailed, "\(function) threw \(type) in worker pid \(pid): \(description)")
                    e.workerPid = pid
                    e.errorType = type
                    e.errorDescription = description
                    e.remoteFrames = backtrace
                    return .failure(e)
                }
            }
        case .reply(.unknownFunction(let name), let pid):
            var e = PoolError(.unknownFunction, "worker pid \(pid) has no pool function named '\(name)': list it in ChildProcess.bootstrap(entries:)")
            e.workerPid = pid
            return all(e)
        case .reply(.dropped, _):
            return all(PoolError(.cancelled, "\(function): cancelled by its caller; its worker dropped it unrun"))
        case .reply(.badInput(let why), let pid):
            var e = PoolError(.encoding, why)
            e.workerPid = pid
            return all(e)
        }
    }
}
