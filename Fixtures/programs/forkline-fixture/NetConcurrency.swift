// Concurrent handshakes (issue 17 gap): silent peers connect to a Listener, then a good client
// (a process of its own): it must be accepted long before the silent peers' 120 s handshake
// timeout, through the async and the blocking accept; peers past the listener's bound are
// closed at once; silent peers are closed at their deadline even with nobody in `accept`; and
// no descriptor is left once the listener and the peers are closed (/proc/self/fd).
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum NetConcurrency {
    /// The Listener's default `maxPendingHandshakes` (docs/cluster.md): this scenario relies on
    /// the default, so it states it.
    static let defaultBound = 64

    /// This process's open descriptors and what each is (`readlink /proc/self/fd/N`), without
    /// the directory stream's own.
    static func descriptors() -> [String] {
        guard let d = opendir("/proc/self/fd") else { return [] }
        let own = dirfd(d)
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard name != ".", name != "..", Int32(name) != own else { continue }
            var buf = [CChar](repeating: 0, count: 512)
            let n = readlink("/proc/self/fd/" + name, &buf, 511)
            out.append(name + " " + (n > 0 ? String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"))
        }
        closedir(d)
        return out.sorted()
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func seconds(since t: UInt64) -> Double { Double(now() - t) / 1e9 }

    /// Waits up to `seconds` for `count` bytes on `fd`; returns how many came (0 and -1: closed).
    static func read(_ fd: Int32, _ count: Int, within seconds: Int32) -> Int {
        var buf = [UInt8](repeating: 0, count: count)
        var got = 0
        let end = now() + UInt64(seconds) * 1_000_000_000
        while got < count {
            let t = now()
            if t >= end { return got }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if Glibc.poll(&p, 1, Int32((end - t) / 1_000_000) + 1) <= 0 { continue }
            let n = buf.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress! + got, count - got, 0) }
            if n <= 0 { return got == 0 ? -1 : got }
            got += n
        }
        return got
    }

    /// Starts the good client, a process of its own; returns it.
    static func goodClient(_ address: NetworkAddress, _ keyFile: String, _ text: String, _ m: StartMethod) throws -> ChildProcess {
        var o = ChildOptions(name: "net-client", method: m == .fork ? .spawn : m)
        o.environment = nil
        let child = try ChildProcess(entry: NetScenarios.client, arguments: NetScenarios.ClientArgs(address: address, keyFile: keyFile, text: text), options: o)
        try child.start()
        return child
    }

    /// Serves the good client on `conn` (its text back as "welcome ...").
    static func serve(_ conn: Connection, _ text: String) async throws -> Bool {
        let got = try await conn.receive(String.self, timeout: .seconds(60))
        try conn.send("welcome \(got ?? "")")
        _ = try? await conn.receive(String.self, timeout: .seconds(60))
        conn.close()
        return got == text
    }

    static func code(_ r: Result<Connection, ChannelError>) -> String {
        switch r {
        case .success: "accepted"
        case .failure(let e): e.code.description
        }
    }

    /// The blocking accept, called from a thread that may block.
    static func blockingAccept(_ l: Listener) -> Result<Connection, ChannelError> {
        do throws(ChannelError) { return .success(try l.accept(timeout: .seconds(90))) } catch { return .failure(error) }
    }

    static func run(method m: StartMethod, dir: String) async throws {
        let keyFile = dir + "/key"
        let key = AuthKey.random()
        try key.write(to: keyFile)

        // Warm-up: the first good client makes the process's lasting descriptors (the async
        // bridge's, the forkserver's), so the count after it is the baseline.
        do {
            let l = try Listener(NetworkAddress(host: "127.0.0.1", port: 0), key: key, handshakeTimeout: .seconds(60))
            let accepting = Task { () -> Result<Connection, ChannelError> in
                do throws(ChannelError) { return .success(try await l.accept()) } catch { return .failure(error) }
            }
            let c = try goodClient(l.address, keyFile, "warm-up", m)
            var ok = false
            if case .success(let conn) = await accepting.value { ok = try await serve(conn, "warm-up") }
            print("warm-up served \(ok) client=\(try await c.join())")
            l.close()
        }
        // Dispatch makes a timerfd for a clock the first time a timer of that clock is armed
        // (Task.sleep: the blocking accept's timeout below uses it) and keeps it for the process's
        // life: armed here first, so the baseline holds it (a full run once saw it appear after).
        try? await Task.sleep(for: .milliseconds(1))
        let baseline = descriptors()

        // A: the async accept; B: the blocking accept. Each: 5 silent peers first, then a good
        // client, with a handshake timeout of 120 s: one handshake at a time would keep the good
        // client waiting 120 s behind the first silent peer.
        let listener = try Listener(NetworkAddress(host: "127.0.0.1", port: 0), key: key, handshakeTimeout: .seconds(120))
        var silent: [Int32] = []
        for api in ["async", "blocking"] {
            let accepting: Task<Result<Connection, ChannelError>, Never> = api == "async"
                ? Task { do throws(ChannelError) { return .success(try await listener.accept()) } catch { return .failure(error) } }
                : Task.detached { blockingAccept(listener) }
            let peers = (0..<5).map { _ in NetScenarios.rawConnect(listener.address) }
            silent += peers
            let challenged = peers.filter { read($0, 63, within: 20) == 63 }.count
            let t = now()
            let c = try goodClient(listener.address, keyFile, api, m)
            let outcome = await accepting.value
            let waited = seconds(since: t)
            var served = false
            if case .success(let conn) = outcome { served = try await serve(conn, api) }
            print("\(api) silent-peers-challenged \(challenged) of 5, good client \(code(outcome)) within-20s \(waited < 20) served \(served) client=\(try await c.join())")
            if waited >= 20 { writeStderrLine("\(api): the good client waited \(waited) s") }
        }

        // The bound: 10 silent peers are held; fill it, then 4 more are closed at once, never
        // challenged. An accept must wait for the listener to take peers off its socket.
        var refusals: [String] = []
        let collecting = Task { () -> [String] in
            var seen: [String] = []
            while seen.count < 4 {
                do throws(ChannelError) { _ = try await listener.accept(); seen.append("accepted") } catch {
                    if error.code == .closed { break }
                    seen.append(error.code.description + (error.message.contains("refused") ? "-refused" : ""))
                }
            }
            return seen
        }
        let filling = (silent.count..<defaultBound).map { _ in NetScenarios.rawConnect(listener.address) }
        let held = filling.filter { read($0, 63, within: 20) == 63 }.count
        silent += filling
        let past = (0..<4).map { _ in NetScenarios.rawConnect(listener.address) }
        let closedAtOnce = past.filter { read($0, 63, within: 20) == -1 }.count
        refusals = await collecting.value
        print("bound \(defaultBound): filled \(held) of \(filling.count) challenged, past it closed unchallenged \(closedAtOnce) of 4, accept saw \(refusals.joined(separator: ","))")
        for fd in past { _ = Glibc.close(fd) }

        // Closing the listener closes every peer it holds (each reads the end).
        listener.close()
        let ended = silent.filter { read($0, 1, within: 20) == -1 }.count
        print("close ended \(ended) of \(silent.count) held peers")
        for fd in silent { _ = Glibc.close(fd) }

        // C: silent peers are closed at their deadline (3 s), with nobody in accept by then; the
        // next accept gets their endings.
        let short = try Listener(NetworkAddress(host: "127.0.0.1", port: 0), key: key, handshakeTimeout: .seconds(3))
        let waiting = Task { () -> Result<Connection, ChannelError> in
            do throws(ChannelError) { return .success(try await short.accept()) } catch { return .failure(error) }
        }
        let t = now()
        let late = (0..<4).map { _ in NetScenarios.rawConnect(short.address) }
        let challenged = late.filter { read($0, 63, within: 20) == 63 }.count
        waiting.cancel()
        let first = code(await waiting.value)
        let closedByDeadline = late.filter { read($0, 1, within: 60) == -1 }.count
        let notBefore = seconds(since: t) >= 3
        var endings: [String] = []
        for _ in 0..<3 {
            do throws(ChannelError) { _ = try short.acceptBlocking(within: .seconds(10)); endings.append("accepted") } catch {
                endings.append(error.code.description)
            }
        }
        print("deadline: challenged \(challenged) of 4, waiter \(first), closed at the deadline \(closedByDeadline) of 4 (not before it \(notBefore)), next accepts \(endings.joined(separator: ","))")
        for fd in late { _ = Glibc.close(fd) }
        short.close()

        // A leaked descriptor never comes back; one that another thread of the process closes a
        // moment later (seen once in a loaded test run, not identified: the diff below names it)
        // does: looked at for up to 10 s.
        var after = descriptors()
        if after != baseline {
            writeStderrLine("descriptors at the first look: only at the baseline \(Set(baseline).subtracting(after).sorted()), only after \(Set(after).subtracting(baseline).sorted())")
        }
        for _ in 0..<100 where after != baseline {
            usleep(100_000)
            after = descriptors()
        }
        print("descriptors back to the baseline \(after == baseline)")
        if after != baseline {
            writeStderrLine("descriptors: only at the baseline \(Set(baseline).subtracting(after).sorted()), only after \(Set(after).subtracting(baseline).sorted())")
        }
    }
}

extension Listener {
    /// The blocking accept, from an async context (a fixture's shortcut: it blocks the thread).
    func acceptBlocking(within d: Duration) throws(ChannelError) -> Connection {
        try NetConcurrency.blockingAcceptWithin(self, d).get()
    }
}

extension NetConcurrency {
    static func blockingAcceptWithin(_ l: Listener, _ d: Duration) -> Result<Connection, ChannelError> {
        do throws(ChannelError) { return .success(try l.accept(timeout: d)) } catch { return .failure(error) }
    }
}
