import Foundation
import ForklineChannels
import ForklineTestSupport
import Testing

/// Our Listener and Client against a real python3 speaking `multiprocessing.connection`'s
/// authkey handshake with CPython's own framing (Fixtures/python/cpython_handshake.py): Python
/// 3.12's protocol (HMAC-SHA256) passes with the right key and is refused with a wrong one at
/// both ends; Python 3.11's (HMAC-MD5) is refused with our typed error.
@Suite("CPython's authkey handshake: a real python3 against our Listener and Client")
struct PythonHandshakeTests {
    static let python: String? = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fixtures/python/cpython_handshake.py").standardized.path

    /// A python3 run of the script; its output lines once it ended (killed after 90 s).
    final class PythonPeer: @unchecked Sendable {
        // @unchecked: `process` and the pipe are used by one test at a time.
        let process = Process()
        let out = Pipe()

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: try #require(PythonHandshakeTests.python))
            process.arguments = [PythonHandshakeTests.script] + arguments
            process.standardOutput = out
            try process.run()
            let p = process
            DispatchQueue.global().asyncAfter(deadline: .now() + 90) { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
        }

        /// The first line (the server's "port N" comes after "implementation ...").
        func readLine() -> String {
            var line = Data()
            while !line.contains(UInt8(ascii: "\n")) {
                let b = out.fileHandleForReading.readData(ofLength: 1)
                if b.isEmpty { break }
                line += b
            }
            return String(decoding: line, as: UTF8.self).trimmingCharacters(in: .newlines)
        }

        func finish() async -> [String] {
            let p = process, out = out
            return await Task.detached {
                let rest = out.fileHandleForReading.readDataToEndOfFile()
                p.waitUntilExit()
                return String(decoding: rest, as: UTF8.self).split(separator: "\n").map(String.init)
            }.value
        }
    }

    struct Keys {
        let key = AuthKey.random()
        let dir = TestSupport.temporaryDirectory("forkline-python-key")
        var right: String { dir + "/right" }
        var wrong: String { dir + "/wrong" }

        init() throws {
            try key.write(to: right)
            try AuthKey.random().write(to: wrong)
        }
    }

    static func says(_ implementation: String, _ protocolName: String) {
        // Which code ran on the Python side: CPython's own functions, or the script's copy.
        print("PythonHandshakeTests: \(protocolName) protocol ran with \(implementation)")
    }

    /// Our Client's attempt on the Python listener, at the port it printed.
    static func connect(to py: PythonPeer, key: AuthKey) async throws -> Result<Connection, ChannelError> {
        let portLine = py.readLine()
        let port = try #require(UInt16(portLine.dropFirst("port ".count)), "python printed \(portLine)")
        do throws(ChannelError) {
            return .success(try await Client.connect(to: NetworkAddress(host: "127.0.0.1", port: port), key: key, timeout: .seconds(30)))
        } catch { return .failure(error) }
    }

    @Test("Python 3.12's client (HMAC-SHA256) passes our Listener with the right key; a wrong key is refused at both ends",
          .enabled(if: python != nil), arguments: [true, false])
    func pythonClient(rightKey: Bool) async throws {
        let keys = try Keys()
        let listener = try Listener(NetworkAddress(host: "127.0.0.1", port: 0), key: keys.key, handshakeTimeout: .seconds(30))
        defer { listener.close() }
        let py = try PythonPeer(["client", "\(listener.address.port)", rightKey ? keys.right : keys.wrong, "modern"])
        let implementation = py.readLine()
        Self.says(implementation, "3.12 (client)")
        let accepted: Result<Connection, ChannelError>
        do throws(ChannelError) { accepted = .success(try await listener.accept()) } catch { accepted = .failure(error) }
        let lines = await py.finish()
        if rightKey {
            let conn = try accepted.get()
            #expect(lines == ["handshake ok"], "python: \(lines)")
            conn.close()
        } else {
            #expect(throws: ChannelError.self) { try accepted.get() }
            if case .failure(let e) = accepted { #expect(e.code == .authenticationFailed, "\(e)") }
            #expect(lines == ["AuthenticationError AuthenticationError: digest sent was rejected"], "python: \(lines)")
        }
    }

    @Test("our Client passes a Python 3.12 listener (HMAC-SHA256) with the right key; a wrong key is refused at both ends",
          .enabled(if: python != nil), arguments: [true, false])
    func pythonListener(rightKey: Bool) async throws {
        let keys = try Keys()
        let py = try PythonPeer(["server", rightKey ? keys.right : keys.wrong, "modern"])
        Self.says(py.readLine(), "3.12 (listener)")
        let connected = try await Self.connect(to: py, key: keys.key)
        let lines = await py.finish()
        if rightKey {
            try connected.get().close()
            #expect(lines == ["handshake ok"], "python: \(lines)")
        } else {
            if case .failure(let e) = connected { #expect(e.code == .authenticationFailed, "\(e)") } else { Issue.record("a wrong key was accepted") }
            #expect(lines == ["AuthenticationError AuthenticationError: digest received was wrong"], "python: \(lines)")
        }
    }

    @Test("a Python 3.11 peer (HMAC-MD5, no digest prefix) is refused with a typed error, as client and as listener",
          .enabled(if: python != nil))
    func legacyPeers() async throws {
        let keys = try Keys()
        // Python 3.11's client against our Listener: its MD5 answer is wrong for a SHA-256 challenge.
        let listener = try Listener(NetworkAddress(host: "127.0.0.1", port: 0), key: keys.key, handshakeTimeout: .seconds(30))
        defer { listener.close() }
        let client = try PythonPeer(["client", "\(listener.address.port)", keys.right, "legacy"])
        Self.says(client.readLine(), "3.11 legacy (client)")
        let accepted: Result<Connection, ChannelError>
        do throws(ChannelError) { accepted = .success(try await listener.accept()) } catch { accepted = .failure(error) }
        if case .failure(let e) = accepted {
            #expect(e.code == .authenticationFailed, "\(e)")
        } else { Issue.record("a Python 3.11 client was accepted") }
        #expect(await client.finish() == ["AuthenticationError AuthenticationError: digest sent was rejected"])

        // Python 3.11's listener against our Client: its challenge asks for MD5, which we refuse.
        let server = try PythonPeer(["server", keys.right, "legacy"])
        Self.says(server.readLine(), "3.11 legacy (listener)")
        let connected = try await Self.connect(to: server, key: keys.key)
        if case .failure(let e) = connected {
            #expect(e.code == .handshakeFailed, "\(e)")
            #expect(e.message.contains("HMAC-SHA256") && e.message.contains("3.12"), "\(e.message)")
        } else { Issue.record("a Python 3.11 listener was accepted") }
        let lines = await server.finish()
        #expect(lines.count == 1 && lines[0].hasPrefix("AuthenticationError"), "python: \(lines)")
    }
}
