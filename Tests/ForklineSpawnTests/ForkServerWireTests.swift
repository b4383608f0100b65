@testable import ForklineSpawn
import ForklineTestSupport
import ForklineTrace
import Testing

@Suite("The forkserver's wire format and environment hand-off")
struct ForkServerWireTests {
    static func request() -> ForkRequest {
        let child = BootstrapPayload(
            role: .child, name: "wörker 1", entry: "work", arguments: Array(#"{"n":7}"#.utf8), puid: .max, parentPuid: 42,
            parentPid: -5, forkerPuid: 0, forkSeq: 1 << 40, method: .forkserver, traceDirectory: "/tmp/trace dir",
            forkserverAddress: nil, inherited: [9, 12])
        return ForkRequest(child: child, requestSeq: 77, environment: ["A": "1", "EMPTY": "", "ü": "ß=x"],
                           workingDirectory: nil, stdio: [true, false, true], inherited: [5, 6])
    }

    @Test("a request, a response and a bootstrap payload decode to what was encoded")
    func roundTrips() throws {
        let r = Self.request()
        let back = try ForkRequest(decoding: r.encoded)
        #expect(back.child.name == "wörker 1" && back.child.entry == "work" && back.child.arguments == r.child.arguments)
        #expect(back.child.puid == .max && back.child.parentPuid == 42 && back.child.parentPid == -5)
        #expect(back.child.forkSeq == 1 << 40 && back.child.method == .forkserver && back.child.role == .child)
        #expect(back.child.traceDirectory == "/tmp/trace dir" && back.child.forkserverAddress == nil)
        #expect(back.child.inherited == [9, 12])
        #expect(back.requestSeq == 77 && back.environment == r.environment && back.workingDirectory == nil)
        #expect(back.stdio == [true, false, true] && back.inherited == [5, 6])

        var noEnv = r
        noEnv.environment = nil
        noEnv.workingDirectory = "/"
        let back2 = try ForkRequest(decoding: noEnv.encoded)
        #expect(back2.environment == nil && back2.workingDirectory == "/")

        #expect(try ForkResponse(decoding: ForkResponse(pid: 1234, error: nil).encoded).pid == 1234)
        let yours = try ForkResponse(decoding: ForkResponse(pid: 99, error: nil, yours: true).encoded)
        let relayed = try ForkResponse(decoding: ForkResponse(pid: 9, error: nil).encoded)
        #expect(yours.pid == 99 && yours.yours && !relayed.yours)
        var own = r
        own.ownChild = true
        let ownBack = try ForkRequest(decoding: own.encoded)
        #expect(ownBack.ownChild && !back.ownChild)
        let failed = try ForkResponse(decoding: ForkResponse(pid: nil, error: "fork failed: EAGAIN", errno: 11).encoded)
        #expect(failed.errno == 11)
        #expect(failed.pid == nil && failed.error == "fork failed: EAGAIN")

        var w = WireWriter()
        var server = r.child
        server.role = .forkserver
        server.forkserverAddress = "forkline-1-ab"
        server.inherited = nil
        server.encode(into: &w)
        let payload = try BootstrapPayload(decoding: w.bytes)
        #expect(payload.role == .forkserver && payload.forkserverAddress == "forkline-1-ab" && payload.inherited == nil)
    }

    @Test("a truncated, padded or corrupted message is refused, never misread")
    func refusesBadInput() {
        let bytes = Self.request().encoded
        for cut in [0, 1, 5, bytes.count / 2, bytes.count - 1] {
            #expect(throws: WireDecodingError.self) { try ForkRequest(decoding: Array(bytes.prefix(cut))) }
        }
        #expect(throws: WireDecodingError.self) { try ForkRequest(decoding: bytes + [0]) }
        var badRole = bytes
        badRole[0] = 7
        #expect(throws: WireDecodingError.self) { try ForkRequest(decoding: badRole) }
        var hugeName = bytes
        hugeName[1] = 0xFF; hugeName[2] = 0xFF; hugeName[3] = 0xFF; hugeName[4] = 0x7F
        #expect(throws: WireDecodingError.self) { try ForkRequest(decoding: hugeName) }
        #expect(throws: WireDecodingError.self) { try ForkResponse(decoding: [9, 0, 0, 0, 0]) }
    }

    @Test("a forkserver child sees exactly its requester's environment, as it changes, and not the server's LD_BIND_NOW",
          arguments: [false, true])
    func environment(programSetsBindNow: Bool) throws {
        let work = TestSupport.temporaryDirectory("forkline-fs-env")
        let (out, _) = try TestSupport.runFixture(["forkserver-env", "forkserver", work], traced: false,
                                                  environment: programSetsBindNow ? ["LD_BIND_NOW": "1"] : [:])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["unchanged", "added", "same-length-value", "removed"].map {
            "\($0) exited(0) same bind-now=\(programSetsBindNow)"
        }, "\(out.stdout)")
    }
}
