import ForklineTrace

/// The binary encoding of the forkserver's messages and of the bootstrap payload: little-endian
/// integers, strings and byte arrays prefixed by their u32 length, optionals by a u8 flag (0
/// absent, 1 present). Both ends are the same binary (the server and spawn children re-execute
/// the program), so the format carries no version. It replaced JSON, whose encode and decode
/// cost ~0.1 ms on the forkserver's critical path (docs/benchmarks.md).
struct WireWriter {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(256) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }

    mutating func byteArray(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }

    mutating func string(_ s: String) {
        let utf8 = s.utf8
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func optionalString(_ s: String?) {
        bool(s != nil)
        if let s { string(s) }
    }

    mutating func int32s(_ a: [Int32]) {
        u32(UInt32(a.count))
        for v in a { i32(v) }
    }
}

/// A message that does not decode: truncated, or a field out of range.
struct WireDecodingError: Error {}

/// Reads what ``WireWriter`` wrote, in the same order.
struct WireReader {
    let bytes: [UInt8]
    var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func take(_ n: Int) throws(WireDecodingError) -> ArraySlice<UInt8> {
        guard n >= 0, n <= bytes.count - at else { throw WireDecodingError() }
        defer { at += n }
        return bytes[at..<at + n]
    }

    mutating func u8() throws(WireDecodingError) -> UInt8 { try take(1).first! }

    mutating func bool() throws(WireDecodingError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw WireDecodingError()
        }
    }

    mutating func u32() throws(WireDecodingError) -> UInt32 {
        try take(4).withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
    }

    mutating func i32() throws(WireDecodingError) -> Int32 { Int32(bitPattern: try u32()) }

    mutating func u64() throws(WireDecodingError) -> UInt64 {
        try take(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
    }

    mutating func count() throws(WireDecodingError) -> Int {
        let n = Int(try u32())
        guard n <= bytes.count - at else { throw WireDecodingError() }  // every element is >= 1 byte
        return n
    }

    mutating func byteArray() throws(WireDecodingError) -> [UInt8] { Array(try take(try count())) }

    mutating func string() throws(WireDecodingError) -> String { String(decoding: try take(try count()), as: UTF8.self) }

    mutating func optionalString() throws(WireDecodingError) -> String? { try bool() ? try string() : nil }

    mutating func int32s() throws(WireDecodingError) -> [Int32] {
        let n = try count()
        var out: [Int32] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try i32()) }
        return out
    }

    /// Fails unless every byte was read.
    func finish() throws(WireDecodingError) {
        if at != bytes.count { throw WireDecodingError() }
    }
}

extension BootstrapPayload {
    func encode(into w: inout WireWriter) {
        w.u8(role == .child ? 0 : 1)
        w.string(name)
        w.string(entry)
        w.byteArray(arguments)
        w.u64(puid)
        w.u64(parentPuid)
        w.i32(parentPid)
        w.u64(forkerPuid)
        w.u64(forkSeq)
        w.u8(method.rawValue)
        w.optionalString(traceDirectory)
        w.optionalString(forkserverAddress)
        w.bool(inherited != nil)
        if let inherited { w.int32s(inherited) }
    }

    init(decoding bytes: [UInt8]) throws(WireDecodingError) {
        var r = WireReader(bytes)
        try self.init(from: &r)
        try r.finish()
    }

    init(from r: inout WireReader) throws(WireDecodingError) {
        let roleByte = try r.u8()
        guard roleByte <= 1 else { throw WireDecodingError() }
        let role: Role = roleByte == 0 ? .child : .forkserver
        let name = try r.string(), entry = try r.string(), arguments = try r.byteArray()
        let puid = try r.u64(), parentPuid = try r.u64(), parentPid = try r.i32()
        let forkerPuid = try r.u64(), forkSeq = try r.u64()
        guard let method = StartMethod(rawValue: try r.u8()) else { throw WireDecodingError() }
        let traceDirectory = try r.optionalString(), forkserverAddress = try r.optionalString()
        let inherited: [Int32]? = try r.bool() ? try r.int32s() : nil
        self.init(role: role, name: name, entry: entry, arguments: arguments, puid: puid, parentPuid: parentPuid,
                  parentPid: parentPid, forkerPuid: forkerPuid, forkSeq: forkSeq, method: method,
                  traceDirectory: traceDirectory, forkserverAddress: forkserverAddress, inherited: inherited)
    }
}

extension ForkRequest {
    var encoded: [UInt8] {
        var w = WireWriter()
        child.encode(into: &w)
        w.u64(requestSeq)
        w.bool(environment != nil)
        if let environment {
            w.u32(UInt32(environment.count))
            for (k, v) in environment {
                w.string(k)
                w.string(v)
            }
        }
        w.optionalString(workingDirectory)
        w.u32(UInt32(stdio.count))
        for b in stdio { w.bool(b) }
        w.int32s(inherited)
        w.bool(ownChild)
        w.bool(keep)
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(WireDecodingError) {
        var r = WireReader(bytes)
        let child = try BootstrapPayload(from: &r)
        let requestSeq = try r.u64()
        var environment: [String: String]? = nil
        if try r.bool() {
            let n = try r.count()
            var env: [String: String] = [:]
            env.reserveCapacity(n)
            for _ in 0..<n {
                let k = try r.string()
                env[k] = try r.string()
            }
            environment = env
        }
        let workingDirectory = try r.optionalString()
        let n = try r.count()
        var stdio: [Bool] = []
        for _ in 0..<n { stdio.append(try r.bool()) }
        let inherited = try r.int32s()
        let ownChild = try r.bool()
        let keep = try r.bool()
        try r.finish()
        self.init(child: child, requestSeq: requestSeq, environment: environment, workingDirectory: workingDirectory,
                  stdio: stdio, inherited: inherited, ownChild: ownChild, keep: keep)
    }
}

extension ForkResponse {
    var encoded: [UInt8] {
        var w = WireWriter()
        if let pid {
            w.u8(yours ? 2 : 0)
            w.i32(pid)
        } else {
            w.u8(1)
            w.string(error ?? "unknown error")
            w.i32(errno)
        }
        return w.bytes
    }

    init(decoding bytes: [UInt8]) throws(WireDecodingError) {
        var r = WireReader(bytes)
        switch try r.u8() {
        case 0: self.init(pid: try r.i32(), error: nil)
        case 2: self.init(pid: try r.i32(), error: nil, yours: true)
        case 1: self.init(pid: nil, error: try r.string(), errno: try r.i32())
        default: throw WireDecodingError()
        }
        try r.finish()
    }
}
