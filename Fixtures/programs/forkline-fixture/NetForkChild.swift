// A Listener in a fork child (issue 17): the parent's handshake thread is running (a silent
// peer's handshake in progress) when it forks. A child given the listener (ChildOptions.pass)
// accepts a good client on it with a desk of its own and closes its copy; before, it counted
// itself into the parent's desk (whose thread is not in the child, whose eventfds it shares
// with the parent) and timed out, and the parent's next accept timed out after it. A child not
// given it gets a clear `closed` error (before: a trap, accept4 on a descriptor it had closed).
// The parent's listener works on after both.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum NetForkChild {
    static func run(dir: String) async throws {
        let keyFile = dir + "/key"
        let key = AuthKey.random()
        try key.write(to: keyFile)
        let listener = try Listener(NetworkAddress(host: "127.0.0.1", port: 0), key: key, handshakeTimeout: .seconds(60))
        // The parent's thread runs: an accept waits, a silent peer's handshake begins (its
        // challenge read), then the accept is cancelled: the thread goes on for the handshake.
        let waiting = Task { () -> Result<Connection, ChannelError> in
            do throws(ChannelError) { return .success(try await listener.accept()) } catch { return .failure(error) }
        }
        let silent = NetScenarios.rawConnect(listener.address)
        let challenged = NetConcurrency.read(silent, 63, within: 20) == 63
        waiting.cancel()
        print("parent: silent peer challenged \(challenged), its accept \(NetConcurrency.code(await waiting.value))")

        var options = ChildOptions(name: "fork-acceptor", method: .fork)
        options.pass(listener)
        let child = ChildProcess(options: options) {
            do {
                let c = try NetConcurrency.goodClient(listener.address, keyFile, "from-child", .spawn)
                let t = NetConcurrency.now()
                let r = NetConcurrency.blockingAccept(listener)
                var served = false
                if case .success(let conn) = r {
                    let got: String? = try conn.receive(String.self)
                    try conn.send("welcome \(got ?? "")")
                    _ = try? conn.receive(String.self)
                    conn.close()
                    served = got == "from-child"
                }
                let status = try c.join(timeout: .seconds(60)).map { "\($0)" } ?? "not ended"
                print("child: good client \(NetConcurrency.code(r)) within-20s \(NetConcurrency.seconds(since: t) < 20) served \(served) client=\(status)")
                listener.close()
                print("child: closed")
            } catch {
                print("child: failed \(error)")
            }
        }
        try child.start()
        print("parent: child \(try await child.join())")
        // A child not given the listener: `accept` says so (before: a precondition failure,
        // accept4 on a descriptor the child had closed).
        let bare = ChildProcess(options: ChildOptions(name: "not-given", method: .fork)) {
            do throws(ChannelError) { _ = try listener.accept(timeout: .seconds(5)); print("not given: accepted") } catch {
                print("not given: \(error.code) names pass \(error.message.contains("ChildOptions.pass"))")
            }
            listener.close()
        }
        try bare.start()
        print("parent: not-given child \(try await bare.join())")
        // The parent's listener still works after its children closed their copies.
        let c = try NetConcurrency.goodClient(listener.address, keyFile, "from-parent", .spawn)
        let r = await Task.detached { NetConcurrency.blockingAccept(listener) }.value
        var served = false
        if case .success(let conn) = r { served = try await NetConcurrency.serve(conn, "from-parent") }
        print("parent: good client \(NetConcurrency.code(r)) served \(served) client=\(try await c.join())")
        _ = Glibc.close(silent)
        listener.close()
    }
}
