// Listener / Client scenarios (issue 17 item 1): bad peers of every kind against a real TCP
// listener, each followed by a good client in a child process of its own, which must still be
// served. Prints one line per case; the trace (send/recv over the TCP channel) is the rest.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum NetScenarios {
    struct ClientArgs: Codable, Sendable {
        var address: NetworkAddress
        var keyFile: String
        var text: String
    }

    /// A good client: reads the key from its 0600 file, connects, sends `text`, prints the reply.
    static let client = EntryPoint<ClientArgs>("net-client") { a in
        let key = try AuthKey.read(from: a.keyFile)
        let c = try Client.connect(to: a.address, key: key, timeout: Duration.seconds(60))
        try c.send(a.text)
        guard let reply = try c.receive(String.self), reply == "welcome \(a.text)" else { exit(3) }
        c.close()
    }

    static let entries: [any AnyEntryPoint] = [client]

    static func code(_ r: Result<Connection, ChannelError>) -> String {
        switch r {
        case .success: "accepted"
        case .failure(let e): e.code.description
        }
    }

    static func run(_ scenario: String, method m: StartMethod, dir: String) async throws {
        let keyFile = dir + "/key"
        let key = AuthKey.random()
        try key.write(to: keyFile)
        print("key-description \(key)")
        let host = scenario == "net-handshake-v6" ? "::1" : "127.0.0.1"
        let listener = try Listener(NetworkAddress(host: host, port: 0), key: key, handshakeTimeout: .seconds(2))
        defer { listener.close() }
        print("port-picked \(listener.address.port != 0)")
        for bad in ["none", "wrong-key", "silent", "http-garbage", "random-answer", "huge-length", "close-mid-handshake"] {
            let accepting = Task { () -> Result<Connection, ChannelError> in
                do throws(ChannelError) { return .success(try await listener.accept()) } catch { return .failure(error) }
            }
            var peer = "-"
            if bad != "none" { peer = await badPeer(bad, listener.address, accepting) }
            let outcome = bad == "none" ? "-" : code(await accepting.value)
            // Then a good client, a process of its own: the listener must still serve it.
            let good = bad == "none" ? accepting : Task { () -> Result<Connection, ChannelError> in
                do throws(ChannelError) { return .success(try await listener.accept()) } catch { return .failure(error) }
            }
            var o = ChildOptions(name: "net-client", method: m == .fork ? .spawn : m)
            o.environment = nil
            let child = try ChildProcess(entry: client, arguments: ClientArgs(address: listener.address, keyFile: keyFile, text: bad), options: o)
            try child.start()
            var served = "no"
            if case .success(let conn) = await good.value {
                let got = try await conn.receive(String.self, timeout: Duration.seconds(60))
                try conn.send("welcome \(got ?? "")")
                served = got == bad ? "yes" : "got \(got ?? "<eof>")"
                _ = try? await conn.receive(String.self, timeout: Duration.seconds(60))  // the client's close
                conn.close()
            }
            print("\(bad) listener=\(outcome) peer=\(peer) good-client-served=\(served) client=\(try await child.join())")
        }
        try await clientSide(key, host)
    }

    /// What the client sees of bad listeners: a wrong key, nothing listening, a silent server,
    /// a server that sends garbage.
    static func clientSide(_ key: AuthKey, _ host: String) async throws {
        func attempt(_ address: NetworkAddress) async -> String {
            do {
                _ = try await Client.connect(to: address, key: key, timeout: .seconds(2))
                return "connected"
            } catch { return error.code.description + (error.errno.map { " errno=\($0)" } ?? "") }
        }
        let other = try Listener(NetworkAddress(host: host, port: 0), key: AuthKey.random(), handshakeTimeout: .seconds(5))
        let serving = Task { try? await other.accept() }
        print("client-wrong-key \(await attempt(other.address))")
        _ = await serving.value
        other.close()
        print("client-refused \(await attempt(other.address).hasPrefix("systemCallFailed errno=\(ECONNREFUSED)"))")
        // Raw servers: accept and say nothing, or say garbage.
        for kind in ["silent", "garbage"] {
            let (fd, port) = rawListen(host)
            let t = Task.detached { () -> Void in
                let c = Glibc.accept(fd, nil, nil)
                if kind == "garbage" {
                    let junk = Array("HTTP/1.1 400 Bad Request\r\n\r\n".utf8)
                    _ = junk.withUnsafeBytes { Glibc.send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
                usleep(3_000_000)
                _ = Glibc.close(c)
            }
            print("client-vs-\(kind)-server \(await attempt(NetworkAddress(host: host, port: port)))")
            await t.value
            _ = Glibc.close(fd)
        }
    }

    /// A peer that misbehaves in the way `kind` names; returns what it observed.
    static func badPeer(_ kind: String, _ address: NetworkAddress, _ accepting: Task<Result<Connection, ChannelError>, Never>) async -> String {
        if kind == "wrong-key" {
            do {
                _ = try await Client.connect(to: address, key: AuthKey.random(), timeout: .seconds(10))
                return "connected"
            } catch { return error.code.description }
        }
        let fd = rawConnect(address)
        defer { _ = Glibc.close(fd) }
        switch kind {
        case "silent":
            _ = await accepting.value
        case "http-garbage":
            rawSend(fd, Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            _ = await accepting.value
        case "random-answer":
            _ = rawRead(fd, 4 + 11 + 8 + 40)
            rawSend(fd, [0, 0, 0, 40] + (0..<40).map { _ in UInt8.random(in: 0...255) })
            _ = await accepting.value
        case "huge-length":
            _ = rawRead(fd, 4 + 11 + 8 + 40)
            rawSend(fd, [0x7F, 0xFF, 0xFF, 0xFF])
            _ = await accepting.value
        case "close-mid-handshake":
            _ = rawRead(fd, 4 + 11 + 8 + 40)
            rawSend(fd, [0, 0])
            _ = Glibc.shutdown(fd, Int32(SHUT_RDWR))
            _ = await accepting.value
        default: return "unknown"
        }
        // The listener must have closed its end: the peer reads the end (after any verdict).
        var buf = [UInt8](repeating: 0, count: 512)
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return total > 0 ? "closed-after-\(total)-bytes" : "closed" }
            total += n
        }
    }

    static func rawConnect(_ a: NetworkAddress) -> Int32 {
        let v6 = a.host.contains(":")
        let fd = Glibc.socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var rc: Int32
        if v6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = a.port.bigEndian
            _ = inet_pton(AF_INET6, a.host, &sa.sin6_addr)
            rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = a.port.bigEndian
            _ = inet_pton(AF_INET, a.host, &sa.sin_addr)
            rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        if rc != 0 { writeStderrLine("raw connect to \(a) failed: errno \(errno)") }
        return fd
    }

    static func rawListen(_ host: String) -> (Int32, UInt16) {
        // Through a Listener's own code path would hide what a foreign server does: plain sockets.
        let v6 = host.contains(":")
        let fd = Glibc.socket(v6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if v6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            _ = inet_pton(AF_INET6, host, &sa.sin6_addr)
            _ = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            _ = inet_pton(AF_INET, host, &sa.sin_addr)
            _ = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        _ = Glibc.listen(fd, 4)
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let port = withUnsafePointer(to: &ss) { p in
            v6 ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
               : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
        }
        return (fd, port)
    }

    static func rawSend(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    static func rawRead(_ fd: Int32, _ count: Int) -> Int {
        var buf = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buf.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { break }
            got += n
        }
        return got
    }
}
