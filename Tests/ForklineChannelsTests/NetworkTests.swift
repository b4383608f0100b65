import Foundation
import ForklineChannels
import ForklineReplay
import ForklineSystem
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("Listener and Client: TCP connections authenticated with a shared key")
struct NetworkTests {
    @Test("every kind of bad peer gets a typed error and no connection, and the listener serves the next good client",
          arguments: ["net-handshake", "net-handshake-v6"])
    func badPeers(scenario: String) throws {
        let dir = TestSupport.temporaryDirectory("forkline-net")
        let (out, traceDir) = try TestSupport.runFixture([scenario, "forkserver", dir])
        #expect(out.status == 0, "\(out.stderr)")
        let served = "good-client-served=yes client=exited(0)"
        #expect(out.lines == [
            "key-description AuthKey(32 bytes)",
            "port-picked true",
            "none listener=- peer=- \(served)",
            "wrong-key listener=authenticationFailed peer=authenticationFailed \(served)",
            "silent listener=handshakeTimedOut peer=closed-after-63-bytes \(served)",
            "http-garbage listener=handshakeFailed peer=closed-after-63-bytes \(served)",
            "random-answer listener=authenticationFailed peer=closed-after-13-bytes \(served)",
            "huge-length listener=handshakeFailed peer=closed \(served)",
            "close-mid-handshake listener=handshakeFailed peer=closed \(served)",
            "client-wrong-key authenticationFailed",
            "client-refused true",
            "client-vs-silent-server handshakeTimedOut",
            "client-vs-garbage-server handshakeFailed",
        ], "\(out.stderr)")
        // The trace is the oracle: every good client's message is a send in its process that the
        // listener's recv names, on one channel id both ends derived from the handshake.
        let (trace, report) = try TestSupport.checkedTrace(traceDir)
        #expect(report.ok, "\(report.violations)")
        let clients = trace.processes(named: "net-client")
        #expect(clients.count == 7)
        let clientPuids = Set(clients.map(\.header.puid))
        let recvs = trace.events(.recv).filter { clientPuids.contains($0["senderPuid"]?.uint ?? 0) }
        #expect(recvs.count == 7)
        for r in recvs {
            let id = EventID(puid: r["senderPuid"]?.uint ?? 0, seq: r["sendSeq"]?.uint ?? 0)
            #expect(trace.happensBefore(id, r.id), "send \(id) happens before recv \(r.id)")
        }
        // The key is in no trace file and in no output.
        let key = try Data(contentsOf: URL(fileURLWithPath: dir + "/key"))
        #expect(key.count == 32)
        for name in try FileManager.default.contentsOfDirectory(atPath: traceDir) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: traceDir + "/" + name))
            #expect(bytes.range(of: key) == nil, "the key's bytes are in the trace file \(name)")
        }
        #expect(Data(out.stdout.utf8).range(of: key) == nil && Data(out.stderr.utf8).range(of: key) == nil)
    }

    @Test("handshakes run concurrently: silent peers delay no good client, the bound closes peers past it, deadlines close the silent ones, no descriptor leaks")
    func concurrentHandshakes() throws {
        let dir = TestSupport.temporaryDirectory("forkline-net")
        let (out, traceDir) = try TestSupport.runFixture(["net-concurrent-handshakes", "forkserver", dir], timeout: 400)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "warm-up served true client=exited(0)",
            // One handshake at a time: the good client waited the 120 s timeout behind the first silent peer.
            "async silent-peers-challenged 5 of 5, good client accepted within-20s true served true client=exited(0)",
            "blocking silent-peers-challenged 5 of 5, good client accepted within-20s true served true client=exited(0)",
            "bound 64: filled 54 of 54 challenged, past it closed unchallenged 4 of 4, accept saw handshakeFailed-refused,handshakeFailed-refused,handshakeFailed-refused,handshakeFailed-refused",
            "close ended 64 of 64 held peers",
            "deadline: challenged 4 of 4, waiter cancelled, closed at the deadline 4 of 4 (not before it true), next accepts handshakeTimedOut,handshakeTimedOut,handshakeTimedOut",
            "descriptors back to the baseline true",
        ], "\(out.stderr)")
        let (_, report) = try TestSupport.checkedTrace(traceDir)
        #expect(report.ok, "\(report.violations)")
    }

    @Test("a fork child accepts on its parent's listener while the parent's handshake thread runs, and closes its copy; the parent's listener goes on")
    func forkChild() throws {
        let dir = TestSupport.temporaryDirectory("forkline-net")
        let (out, traceDir) = try TestSupport.runFixture(["net-fork-child", "fork", dir], timeout: 300)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == [
            "parent: silent peer challenged true, its accept cancelled",
            // Before: the child's accept counted itself into the parent's desk (no thread of it in
            // the child, its eventfds shared with the parent) and timed out at 90 s, and after
            // that the parent's own next accept timed out too.
            "child: good client accepted within-20s true served true client=exited(0)",
            "child: closed",
            "parent: child exited(0)",
            // Before: the child trapped (accept4 on a descriptor it did not have: EBADF).
            "not given: closed names pass true",
            "parent: not-given child exited(0)",
            "parent: good client accepted served true client=exited(0)",
        ], "\(out.stderr)")
        let (_, report) = try TestSupport.checkedTrace(traceDir)
        #expect(report.ok, "\(report.violations)")
    }

    @Test("SHA-256 gives the FIPS 180-2 digests")
    func sha256() {
        #expect(hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("HMAC-SHA256 gives the RFC 4231 test vectors", arguments: RFC4231.cases)
    func hmac(_ c: RFC4231.Case) {
        #expect(hex(HMACSHA256.mac(key: c.key, message: c.data)) == c.mac)
    }

    @Test("MACs compare equal only when every byte is equal")
    func constantTimeCompare() {
        let a = [UInt8](repeating: 7, count: 32)
        #expect(HMACSHA256.constantTimeEqual(a, a))
        for i in [0, 15, 31] {
            var b = a
            b[i] ^= 1
            #expect(!HMACSHA256.constantTimeEqual(a, b))
        }
        #expect(!HMACSHA256.constantTimeEqual(a, Array(a.prefix(31))))
    }

    @Test("addresses parse as host:port and [ipv6]:port, and bad ones are typed errors")
    func addresses() throws {
        #expect(try NetworkAddress(parsing: "127.0.0.1:5000") == NetworkAddress(host: "127.0.0.1", port: 5000))
        #expect(try NetworkAddress(parsing: "[::1]:0") == NetworkAddress(host: "::1", port: 0))
        #expect(try NetworkAddress(parsing: "node3:65535").description == "node3:65535")
        #expect(NetworkAddress(host: "::1", port: 7).description == "[::1]:7")
        for bad in ["node3", "::1:5000", ":5000", "h:70000", "h:x", "[::1]5000", "[::1"] {
            #expect(throws: ChannelError.self, "\(bad)") { try NetworkAddress(parsing: bad) }
        }
        #expect(throws: ChannelError.self) { try Listener(NetworkAddress(host: "no-such-host.invalid", port: 0), key: AuthKey.random()) }
    }

    @Test("a key is written 0600, read back, never printed, and refused from a file others can read")
    func keyFiles() throws {
        let dir = TestSupport.temporaryDirectory("forkline-key")
        let key = AuthKey.random()
        try key.write(to: dir + "/k")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/k")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Read back byte for byte, whatever the bytes (a random key may end in a newline byte).
        for i in 0..<64 {
            let k = AuthKey.random()
            try k.write(to: dir + "/k\(i)")
            #expect(try AuthKey.read(from: dir + "/k\(i)").description == "AuthKey(32 bytes)")
        }
        try Data([1, 2, 10]).write(to: URL(fileURLWithPath: dir + "/nl"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir + "/nl")
        #expect(try AuthKey.read(from: dir + "/nl").description == "AuthKey(3 bytes)")
        #expect("\(key)" == "AuthKey(32 bytes)" && String(reflecting: key) == "AuthKey(32 bytes)")
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.contains("bytes:") && !dumped.contains("UInt8"), "\(dumped)")
        // Never overwritten.
        #expect(throws: ChannelError.self) { try key.write(to: dir + "/k") }
        // Readable by others: refused, saying why.
        try "secret\n".write(toFile: dir + "/open", atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/open")
        let e = #expect(throws: ChannelError.self) { try AuthKey.read(from: dir + "/open") }
        #expect(e?.code == .invalidArgument && e?.message.contains("chmod 600") == true)
        #expect(throws: ChannelError.self) { try AuthKey.read(from: dir + "/missing") }
        #expect(throws: ChannelError.self) { try AuthKey([]) }
    }

    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
}

enum RFC4231 {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var key: [UInt8]
        var data: [UInt8]
        var mac: String
        var testDescription: String { name }
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    static let cases: [Case] = [
        Case(name: "test case 1", key: [UInt8](repeating: 0x0b, count: 20), data: bytes("Hi There"),
             mac: "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
        Case(name: "test case 2", key: bytes("Jefe"), data: bytes("what do ya want for nothing?"),
             mac: "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        Case(name: "test case 3", key: [UInt8](repeating: 0xaa, count: 20), data: [UInt8](repeating: 0xdd, count: 50),
             mac: "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
        Case(name: "test case 4", key: Array(1...25), data: [UInt8](repeating: 0xcd, count: 50),
             mac: "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
        Case(name: "test case 6", key: [UInt8](repeating: 0xaa, count: 131),
             data: bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
             mac: "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
        Case(name: "test case 7", key: [UInt8](repeating: 0xaa, count: 131),
             data: bytes("This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm."),
             mac: "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
    ]
}
