import CForkline
import ForklineSystem
import ForklineTrace

#if canImport(Glibc)
import Glibc
#endif

/// A request to the forkserver: one connection per child. The client sends a length-prefixed
/// binary request (``WireWriter``) with the child's stdio descriptors attached (SCM_RIGHTS); the
/// server answers with a length-prefixed binary response, and later writes the child's 5-byte status (u8 0 exited / 1
/// signaled, i32 value) and closes the connection. A client that disconnects early has its child
/// killed: a forkserver child never outlives the process that asked for it. A child of the
/// server's owner is the owner's own (``ForkResponse/yours``): the server closes the connection
/// after the response, and the child dies with the owner by its death signal.
struct ForkRequest: Sendable {
    var child: BootstrapPayload
    var requestSeq: UInt64
    /// The child's environment; nil: the server's own.
    var environment: [String: String]?
    var workingDirectory: String?
    /// Which of stdin, stdout, stderr have a descriptor attached, in order.
    var stdio: [Bool]
    /// The requester's numbers of the passed descriptors, attached after the stdio ones.
    var inherited: [Int32] = []
    /// The requester can reap the child itself (it does not ignore SIGCHLD): if it is the
    /// server's owner, the server forks the child as the requester's own (``ForkResponse/yours``).
    var ownChild = false
    /// The requester keeps this connection for its next requests if the server makes the child
    /// its own (the owner's one connection, ForkServerClient+Session.swift): the server then
    /// keeps serving requests on it instead of closing it.
    var keep = false
}

struct ForkResponse: Sendable {
    var pid: Int32?
    var error: String?
    /// The errno of the server's failed call (fork's EAGAIN under RLIMIT_NPROC), 0 when none.
    var errno: Int32 = 0
    /// The child is the requester's own (the server forked it with CLONE_PARENT for its owner):
    /// the requester waits for it and reaps it itself, and the server writes no status.
    var yours = false
}

enum Wire {
    /// Sends a length-prefixed message (``WireWriter``), with descriptors on the first byte.
    static func send(_ body: [UInt8], fds: [Int32], on sock: Int32) -> Int32? {
        var bytes = [UInt8](repeating: 0, count: 4)
        bytes.reserveCapacity(4 + body.count)
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: UInt32(body.count).littleEndian, as: UInt32.self) }
        bytes += body
        let first = bytes.withUnsafeBytes { b in
            fds.withUnsafeBufferPointer { f in fl_send_fds(sock, b.baseAddress, b.count, f.baseAddress, Int32(f.count)) }
        }
        if first < 0 { return Int32(-first) }
        if first < bytes.count {
            return bytes.withUnsafeBytes { Syscall.writeAll(sock, UnsafeRawBufferPointer(rebasing: $0[first...]))?.rawValue }
        }
        return nil
    }

    /// Receives a length-prefixed message and any descriptors sent with it, and decodes it with
    /// `decode`; nil (the descriptors closed) when the peer hung up or sent what does not decode.
    /// With `prefetch`, the first call reads up to 4 KiB, so a small message takes one system
    /// call: only for a connection on which the peer sends nothing more until it has an answer
    /// (a request; the answer on the owner's kept connection), since bytes past the message
    /// would be lost.
    static func receive<T>(on sock: Int32, maxFDs: Int = 3, prefetch: Bool = false,
                           _ decode: ([UInt8]) throws(WireDecodingError) -> T) -> (T, [Int32])? {
        var first = [UInt8](repeating: 0, count: prefetch ? 4096 : 4)
        var fds = [Int32](repeating: -1, count: maxFDs)
        var nfds: Int32 = 0
        let n = first.withUnsafeMutableBytes { h in
            fds.withUnsafeMutableBufferPointer { f in fl_recv_fds(sock, h.baseAddress, h.count, f.baseAddress, Int32(maxFDs), &nfds) }
        }
        let received = Array(fds.prefix(Int(nfds)))
        var got = max(0, n)
        if got < 4, n > 0, let rest = Syscall.readExactly(sock, 4 - got) {
            for (i, b) in rest.enumerated() { first[got + i] = b }
            got = 4
        }
        let length = Int(first.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self).littleEndian })
        guard got >= 4, length < 64 << 20, got - 4 <= length else {
            for fd in received { Sys.close(fd) }
            return nil
        }
        var body = Array(first[4..<got])
        if body.count < length {
            guard let rest = Syscall.readExactly(sock, length - body.count) else {
                for fd in received { Sys.close(fd) }
                return nil
            }
            body += rest
        }
        guard let value = try? decode(body) else {
            for fd in received { Sys.close(fd) }
            return nil
        }
        return (value, received)
    }

    static func encodeStatus(_ s: ExitStatus) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 5)
        let (tag, v): (UInt8, Int32) = switch s {
        case .exited(let c): (0, c)
        case .signaled(let sig): (1, sig)
        }
        out[0] = tag
        out.withUnsafeMutableBytes { $0.storeBytes(of: v.littleEndian, toByteOffset: 1, as: Int32.self) }
        return out
    }

    static func decodeStatus(_ b: [UInt8]) -> ExitStatus {
        let v = b.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 1, as: Int32.self).littleEndian }
        return b[0] == 0 ? .exited(v) : .signaled(v)
    }

    /// Fills a `sockaddr_un` for an abstract address (leading NUL) and calls `body`.
    static func withAddress<R>(_ name: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(name.utf8.prefix(100))
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            p[0] = 0
            for (i, b) in bytes.enumerated() { p[i + 1] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + 1 + bytes.count)
        return withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, len) } }
    }
}
