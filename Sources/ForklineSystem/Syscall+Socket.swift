import CForkline

#if canImport(Glibc)
import Glibc
#endif

/// Why a socket could not be made, bound, connected or named: the call, its errno (nil for a
/// name resolution failure, whose reason is `getaddrinfo`'s own), and a message.
package struct SocketFailure: Error, Sendable, CustomStringConvertible {
    package var call: String
    package var errno: Int32?
    package var message: String
    package var description: String { message }

    init(_ call: String, _ e: Int32, _ what: String) {
        self.call = call
        self.errno = e
        self.message = "\(what): \(call) failed: \(Errno(e))"
    }

    init(resolving host: String, _ rc: Int32) {
        call = "getaddrinfo"
        errno = nil
        message = "cannot resolve '\(host)': \(String(cString: gai_strerror(rc)))"
    }
}

extension Syscall {
    /// The addresses `host` (a name, an IPv4 or an IPv6 address; nil with `passive`: every local
    /// address) and `port` resolve to for a TCP socket. The corresponding C function is `getaddrinfo`.
    static func resolve(_ host: String?, _ port: UInt16, passive: Bool) -> Result<[(family: Int32, address: [UInt8])], SocketFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0 else { return .failure(SocketFailure(resolving: host ?? "*", rc)) }
        defer { freeaddrinfo(list) }
        var out: [(Int32, [UInt8])] = []
        var p = list
        while let ai = p {
            if let sa = ai.pointee.ai_addr {
                out.append((ai.pointee.ai_family, Array(UnsafeRawBufferPointer(start: sa, count: Int(ai.pointee.ai_addrlen)))))
            }
            p = ai.pointee.ai_next
        }
        if out.isEmpty { return .failure(SocketFailure(resolving: host ?? "*", EAI_NONAME)) }
        return .success(out)
    }

    /// A non-blocking, close-on-exec TCP socket listening on `host`:`port` (port 0: the kernel
    /// picks one; ``socketAddress(_:peer:)`` tells which), with `SO_REUSEADDR`. The corresponding
    /// C functions are `socket`, `setsockopt`, `bind` and `listen`.
    package static func tcpListen(host: String?, port: UInt16, backlog: Int32) -> Result<Int32, SocketFailure> {
        let addresses: [(family: Int32, address: [UInt8])]
        switch resolve(host, port, passive: true) {
        case .success(let a): addresses = a
        case .failure(let f): return .failure(f)
        }
        var last = SocketFailure("bind", EADDRNOTAVAIL, "listening on \(host ?? "*"):\(port)")
        for a in addresses {
            let fd = Glibc.socket(a.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 { last = SocketFailure("socket", errno, "listening on \(host ?? "*"):\(port)"); continue }
            setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            let bound = a.address.withUnsafeBytes { Glibc.bind(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
            if bound != 0 {
                last = SocketFailure("bind", errno, "listening on \(host ?? "*"):\(port)")
                _ = Glibc.close(fd)
                continue
            }
            if Glibc.listen(fd, backlog) != 0 {
                last = SocketFailure("listen", errno, "listening on \(host ?? "*"):\(port)")
                _ = Glibc.close(fd)
                continue
            }
            return .success(fd)
        }
        return .failure(last)
    }

    /// A blocking, close-on-exec TCP socket connected to `host`:`port` within `timeoutMs` (each
    /// address `host` resolves to is tried in turn), with `TCP_NODELAY` and keep-alive probes
    /// (a peer gone without a word, a cut network, is noticed in about 25 s of silence). The
    /// corresponding C functions are `socket`, `connect`, `poll`, `getsockopt` and `setsockopt`.
    package static func tcpConnect(host: String, port: UInt16, timeoutMs: Int32) -> Result<Int32, SocketFailure> {
        let addresses: [(family: Int32, address: [UInt8])]
        switch resolve(host, port, passive: false) {
        case .success(let a): addresses = a
        case .failure(let f): return .failure(f)
        }
        let what = "connecting to \(host):\(port)"
        var last = SocketFailure("connect", ECONNREFUSED, what)
        for a in addresses {
            let fd = Glibc.socket(a.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            if fd < 0 { last = SocketFailure("socket", errno, what); continue }
            var rc = a.address.withUnsafeBytes { Glibc.connect(fd, $0.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t($0.count)) }
            var err: Int32 = rc == 0 ? 0 : errno
            if rc != 0 && (err == EINPROGRESS || err == EINTR) {
                var p = [pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)]
                switch poll(&p, timeoutMs: timeoutMs) {
                case .success(0): err = ETIMEDOUT
                case .success:
                    var soError: Int32 = 0
                    var len = socklen_t(4)
                    rc = getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &len)
                    err = rc == 0 ? soError : errno
                case .failure(let e): err = e.rawValue
                }
            }
            if err != 0 {
                last = SocketFailure("connect", err, what)
                _ = Glibc.close(fd)
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~Int32(O_NONBLOCK))
            configureStream(fd)
            return .success(fd)
        }
        return .failure(last)
    }

    /// Accepts one pending connection of a non-blocking listening socket, blocking and
    /// close-on-exec, configured as ``tcpConnect(host:port:timeoutMs:)``'s. `EAGAIN`: none is
    /// pending. The corresponding C function is `accept4`.
    package static func accept(_ listener: Int32) -> Result<Int32, Errno> {
        let r = valueOrNegatedErrno("accept4") { fl_accept_cloexec(listener) }
        if case .success(let fd) = r { configureStream(fd) }
        return r
    }

    /// TCP_NODELAY (frames are small and latency counts) and keep-alive probes after 10 s of
    /// silence, every 5 s, 3 of them: a peer host that vanished while the connection was idle is
    /// an error in about 25 s. Keep-alive stops while sent data waits for its acknowledgement
    /// (a task sent to a host whose network was cut): TCP_USER_TIMEOUT bounds that wait at 30 s,
    /// where the kernel's retransmissions would otherwise go on for about 15 minutes.
    static func configureStream(_ fd: Int32) {
        setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
        setOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1)
        setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPIDLE, 10)
        setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPINTVL, 5)
        setOption(fd, Int32(IPPROTO_TCP), TCP_KEEPCNT, 3)
        setOption(fd, Int32(IPPROTO_TCP), Int32(TCP_USER_TIMEOUT), 30_000)
    }

    /// `setsockopt` of an integer option (failures ignored: every option set here is a tuning).
    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) {
        var v = value
        _ = setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
    }

    /// The numeric host and port of a socket's own address, or of its peer's. The corresponding
    /// C functions are `getsockname`, `getpeername` and `getnameinfo`.
    package static func socketAddress(_ fd: Int32, peer: Bool) -> (host: String, port: UInt16)? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { peer ? getpeername(fd, $0, &len) : getsockname(fd, $0, &len) }
        }
        guard rc == 0 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var serv = [CChar](repeating: 0, count: 32)
        let ok = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, len, &host, socklen_t(host.count), &serv, socklen_t(serv.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard ok == 0 else { return nil }
        return (String(cString: host), UInt16(String(cString: serv)) ?? 0)
    }
}
