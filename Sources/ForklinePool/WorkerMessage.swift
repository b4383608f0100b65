import FoundationEssentials

/// The messages between the pool and a worker, in a small binary form (the values inside are
/// chunks, ``JSONChunks``): the parent sends `run` batches and `stop` on the worker's duplex
/// ``Connection``; the worker answers `ready` (or `initFailed`) there once, then one `reply` per
/// task, in order, before it begins the next, in its ``ReplyRing`` (a reply too large for the
/// ring: a marker there, the reply on the connection).
///
/// | message | bytes |
/// |---|---|
/// | stop | 0 |
/// | run | 1, u32 count, then per task: u64 id, u32 + function name, u32 + chunk |
/// | ready | 2, u32 pid |
/// | initFailed | 3, u32 + message |
/// | reply | 4, u64 task, u8 kind (0 values, 1 mixed, 2 unknown function, 3 bad input, 4 dropped), u32 + bytes |
enum WorkerMessage: Sendable, Equatable {
    /// One task for the worker: its id, the function's name, its chunk of inputs
    /// (``JSONChunks``); decoded, a slice of the message it came in (not copied out of it).
    struct Job: Sendable, Equatable {
        var task: UInt64
        var function: String
        var payload: ArraySlice<UInt8>
        /// The driver's side only: `payload` is the caller's one `[UInt8]` input itself, not its
        /// chunk; the chunk (``ScalarChunks/bytesTag``, count 1, the length, the bytes) is
        /// written around it as the message is encoded, so those bytes are copied once, into
        /// the task ring, instead of into a chunk first. Decoded jobs carry the chunk.
        var rawBytes = false

        /// The length of the job's chunk on the wire.
        var chunkSize: Int { payload.count + (rawBytes ? ScalarChunks.oneArrayHead : 0) }
        /// The length of the job in a `run` message: its task id, function name and chunk.
        var encodedSize: Int { 8 + 4 + function.utf8.count + 4 + chunkSize }
    }

    /// Parent to worker: run these tasks in order.
    case run([Job])
    /// Parent to worker: exit.
    case stop
    /// Worker to parent: started (initializer done); its pid.
    case ready(Int32)
    /// Worker to parent: the initializer threw; the worker exits.
    case initFailed(String)
    /// Worker to parent: a task's outcome.
    case reply(UInt64, TaskReply)

    /// The message's bytes, after `room` bytes left zero at the front (for a frame or ring
    /// record header written in place), in one buffer of exactly the final size: a task's or a
    /// reply's payload is copied once.
    func encode(room: Int = 0) -> [UInt8] {
        var out: [UInt8] = []
        encode(room: room, into: &out)
        return out
    }

    /// ``encode(room:)`` into `buffer`, replacing what it held but keeping its storage: a
    /// buffer reused for every message costs no fresh pages (a fresh 256 KiB buffer is 64 page
    /// faults, the largest cost of moving such payloads in the profile).
    func encode(room: Int = 0, into buffer: inout [UInt8]) {
        var w = ByteWriter()
        swap(&w.out, &buffer)
        defer { swap(&w.out, &buffer) }
        w.out.removeAll(keepingCapacity: true)
        w.out.reserveCapacity(room + encodedSize)
        w.out.append(contentsOf: repeatElement(0, count: room))
        switch self {
        case .stop: w.u8(0)
        case .run(let jobs):
            w.u8(1)
            w.u32(UInt32(jobs.count))
            for j in jobs {
                w.u64(j.task)
                w.string(j.function)
                if j.rawBytes {
                    w.u32(UInt32(j.chunkSize))
                    ScalarChunks.oneArrayHead(count: j.payload.count, into: &w)
                    w.out.append(contentsOf: j.payload)
                } else {
                    w.bytes(j.payload)
                }
            }
        case .ready(let pid):
            w.u8(2)
            w.u32(UInt32(bitPattern: pid))
        case .initFailed(let message):
            w.u8(3)
            w.string(message)
        case .reply(let task, let reply):
            w.u64Tagged(4, task)
            switch reply {
            case .values(let b): w.u8(0); w.bytes(b[...])
            case .mixed(let b): w.u8(1); w.bytes(b[...])
            case .unknownFunction(let name): w.u8(2); w.string(name)
            case .badInput(let why): w.u8(3); w.string(why)
            case .dropped: w.u8(4); w.bytes([UInt8]()[...])
            case .valueBytes(let b):
                w.u8(0)
                w.u32(UInt32(ScalarChunks.oneArrayHead + b.count))
                ScalarChunks.oneArrayHead(count: b.count, into: &w)
                w.out.append(contentsOf: b)
            case .valueWord(let tag, let bits):
                w.u8(0)
                w.u32(UInt32(ScalarChunks.oneWordChunk))
                w.u8(tag)
                w.u32(1)
                w.u64(bits)
            }
        }
    }

    /// The first task of a `run` message (nil for the others).
    var firstTask: UInt64? {
        if case .run(let jobs) = self { return jobs.first?.task }
        return nil
    }

    /// The length of ``encode(room:)``'s bytes after the room.
    var encodedSize: Int {
        switch self {
        case .stop: 1
        case .run(let jobs): jobs.reduce(5) { $0 + $1.encodedSize }
        case .ready: 5
        case .initFailed(let m): 5 + m.utf8.count
        case .reply(_, let r):
            switch r {
            case .values(let b), .mixed(let b): 14 + b.count
            case .unknownFunction(let s), .badInput(let s): 14 + s.utf8.count
            case .dropped: 14
            case .valueBytes(let b): 14 + ScalarChunks.oneArrayHead + b.count
            case .valueWord: 14 + ScalarChunks.oneWordChunk
            }
        }
    }

    static func decode(_ bytes: [UInt8]) -> WorkerMessage? { decode(bytes[...]) }

    static func decode(_ bytes: ArraySlice<UInt8>) -> WorkerMessage? {
        var r = ByteReader(bytes)
        guard let tag = r.u8() else { return nil }
        switch tag {
        case 0: return .stop
        case 1:
            guard let n = r.u32() else { return nil }
            var jobs: [Job] = []
            jobs.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard let t = r.u64(), let f = r.slice(), let p = r.slice() else { return nil }
                jobs.append(Job(task: t, function: String(decoding: f, as: UTF8.self), payload: p))
            }
            return .run(jobs)
        case 2: return r.u32().map { .ready(Int32(bitPattern: $0)) }
        case 3: return r.bytes().map { .initFailed(String(decoding: $0, as: UTF8.self)) }
        case 4:
            guard let t = r.u64(), let k = r.u8(), let b = r.bytes() else { return nil }
            switch k {
            case 0: return .reply(t, .values(b))
            case 1: return .reply(t, .mixed(b))
            case 2: return .reply(t, .unknownFunction(String(decoding: b, as: UTF8.self)))
            case 3: return .reply(t, .badInput(String(decoding: b, as: UTF8.self)))
            case 4: return .reply(t, .dropped)
            default: return nil
            }
        default: return nil
        }
    }
}

/// A worker's answer for one task (one item or a chunk).
enum TaskReply: Sendable, Equatable {
    /// Every item succeeded: the JSON array of outputs.
    case values([UInt8])
    /// Some items threw: the JSON array of ``ItemOutcome``s.
    case mixed([UInt8])
    /// The worker has no function of that name.
    case unknownFunction(String)
    /// The inputs could not be decoded (or the outputs encoded).
    case badInput(String)
    /// Not run: the driver said its caller was cancelled before the worker began it
    /// (``CancelBoard``, ``PoolCancellation/abandon``).
    case dropped
    /// Every item succeeded and the chunk held one `[UInt8]` output: that array itself. The
    /// driver copies such a reply's bytes out of the reply ring straight into the array its
    /// caller gets (``ReplyRing/peek()``), instead of into a chunk the caller decodes, a second
    /// copy of them. On the wire it is a `values` reply whose chunk holds that one array.
    case valueBytes([UInt8])
    /// Every item succeeded and the chunk held one scalar (`Int`, `Double`, `UInt64`, ...:
    /// ``ScalarChunks/wordTag(_:)``): its ``ScalarChunks`` tag and the value's word. The
    /// driver reads such a reply out of the reply ring as these two words (``ReplyRing/peek()``),
    /// with no byte array allocated per reply (and freed by the caller); a map joins them into
    /// its results directly (``Pool/joinedWords(_:as:)``). On the wire it is a `values` reply
    /// of that one-value chunk.
    case valueWord(tag: UInt8, bits: UInt64)

    /// The chunk a `values` reply carries, for the one-value forms; nil for the others.
    var valueChunk: [UInt8]? {
        switch self {
        case .values(let b): b
        case .valueBytes(let b): ScalarChunks.byteArrays([b][...])
        case .valueWord(let tag, let bits):
            [UInt8](unsafeUninitializedCapacity: ScalarChunks.oneWordChunk) { buf, n in
                let raw = UnsafeMutableRawBufferPointer(buf)
                raw[0] = tag
                raw.storeBytes(of: UInt32(1).littleEndian, toByteOffset: 1, as: UInt32.self)
                raw.storeBytes(of: bits.littleEndian, toByteOffset: 5, as: UInt64.self)
                n = ScalarChunks.oneWordChunk
            }
        default: nil
        }
    }
}

/// One item's outcome when a chunk has failures.
enum ItemOutcome<Value: Codable>: Codable {
    case value(Value)
    case thrown(type: String, description: String, backtrace: [RemoteFrame]? = nil)
}

struct ByteWriter {
    var out: [UInt8] = []
    mutating func u8(_ v: UInt8) { out.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
    mutating func u64Tagged(_ tag: UInt8, _ v: UInt64) {
        u8(tag)
        u64(v)
    }
    mutating func bytes(_ b: [UInt8]) {
        u32(UInt32(b.count))
        out.append(contentsOf: b)
    }
    mutating func bytes(_ b: ArraySlice<UInt8>) {
        u32(UInt32(b.count))
        out.append(contentsOf: b)
    }
    mutating func string(_ s: String) {
        u32(UInt32(s.utf8.count))
        out.append(contentsOf: s.utf8)
    }
}

/// Reads what ``ByteWriter`` wrote, from an array or a slice of one (indices stay the slice's).
struct ByteReader {
    let data: ArraySlice<UInt8>
    var at: Int
    init(_ data: [UInt8]) { self.init(data[...]) }
    init(_ data: ArraySlice<UInt8>) {
        self.data = data
        at = data.startIndex
    }

    /// Bytes not read yet.
    var remaining: Int { data.endIndex - at }

    mutating func u8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { at += 1 }
        return data[at]
    }
    mutating func u32() -> UInt32? {
        guard remaining >= 4 else { return nil }
        defer { at += 4 }
        return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at - data.startIndex, as: UInt32.self)) }
    }
    mutating func u64() -> UInt64? {
        guard remaining >= 8 else { return nil }
        defer { at += 8 }
        return data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at - data.startIndex, as: UInt64.self)) }
    }
    mutating func bytes() -> [UInt8]? { slice().map(Array.init) }
    /// The next length-prefixed bytes, as a slice of the data (no copy).
    mutating func slice() -> ArraySlice<UInt8>? {
        guard let n = u32().map(Int.init), n <= remaining else { return nil }
        defer { at += n }
        return data[at..<(at + n)]
    }
}
