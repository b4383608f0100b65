import FoundationEssentials

/// The messages between the pool and a worker, on the worker's duplex ``Connection``, in a small
/// binary form (the values inside are JSON): the parent sends `run` batches and `stop`; the
/// worker answers `ready` once, then one `reply` per task, in order, before it begins the next.
enum WorkerMessage: Sendable, Equatable {
    /// One task for the worker: its id, the function's name, the JSON array of its inputs.
    struct Job: Sendable, Equatable {
        var task: UInt64
        var function: String
        var payload: [UInt8]
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

    func encode() -> [UInt8] {
        var w = ByteWriter()
        switch self {
        case .stop: w.u8(0)
        case .run(let jobs):
            w.u8(1)
            w.u32(UInt32(jobs.count))
            for j in jobs {
                w.u64(j.task)
                w.bytes(Array(j.function.utf8))
                w.bytes(j.payload)
            }
        case .ready(let pid):
            w.u8(2)
            w.u32(UInt32(bitPattern: pid))
        case .initFailed(let message):
            w.u8(3)
            w.bytes(Array(message.utf8))
        case .reply(let task, let reply):
            w.u64Tagged(4, task)
            switch reply {
            case .values(let b): w.u8(0); w.bytes(b)
            case .mixed(let b): w.u8(1); w.bytes(b)
            case .unknownFunction(let name): w.u8(2); w.bytes(Array(name.utf8))
            case .badInput(let why): w.u8(3); w.bytes(Array(why.utf8))
            case .dropped: w.u8(4); w.bytes([])
            }
        }
        return w.out
    }

    static func decode(_ bytes: [UInt8]) -> WorkerMessage? {
        var r = ByteReader(bytes)
        guard let tag = r.u8() else { return nil }
        switch tag {
        case 0: return .stop
        case 1:
            guard let n = r.u32() else { return nil }
            var jobs: [Job] = []
            jobs.reserveCapacity(Int(n))
            for _ in 0..<n {
                guard let t = r.u64(), let f = r.bytes(), let p = r.bytes() else { return nil }
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
}

struct ByteReader {
    let data: [UInt8]
    var at = 0
    init(_ data: [UInt8]) { self.data = data }

    mutating func u8() -> UInt8? {
        guard at < data.count else { return nil }
        defer { at += 1 }
        return data[at]
    }
    mutating func u32() -> UInt32? {
        guard at + 4 <= data.count else { return nil }
        defer { at += 4 }
        return data.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    }
    mutating func u64() -> UInt64? {
        guard at + 8 <= data.count else { return nil }
        defer { at += 8 }
        return data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    }
    mutating func bytes() -> [UInt8]? {
        guard let n = u32().map(Int.init), at + n <= data.count else { return nil }
        defer { at += n }
        return Array(data[at..<(at + n)])
    }
}
