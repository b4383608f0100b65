import ForklineReplay
import ForklineTrace

extension GoldenFixtures {
    /// Waits (`waitBegin`/`waitEnd`) and the `deadlock` rule: a root (pid 500) and fork children
    /// that block on locks, channels and joins. The violating ones end where the program hung
    /// (killed: no exit recorded).
    static func waitFixtures() -> [(name: String, valid: Bool, trace: Trace, rules: [String])] {
        func wait(_ b: inout FixtureBuilder, _ p: Int, _ what: WaitKind, _ object: UInt64, ref: UInt64 = 0) {
            b.event(p, .waitBegin, [.uint(UInt64(what.rawValue)), .uint(object), .uint(ref)])
        }
        func waited(_ b: inout FixtureBuilder, _ p: Int, _ what: WaitKind, _ object: UInt64) {
            b.event(p, .waitEnd, [.uint(UInt64(what.rawValue)), .uint(object), .uint(0)])
        }
        func lock(_ b: inout FixtureBuilder, _ p: Int, _ kind: EventKind, _ l: UInt64, _ g: UInt64) {
            b.event(p, kind, kind == .lockAcquire ? [.uint(l), .uint(g), .uint(0)] : [.uint(l), .uint(g)])
        }
        var out: [(String, Bool, Trace, [String])] = []

        // Two children take two locks in opposite orders, each waiting for the other's; the
        // parent waits to join the first.
        var b = FixtureBuilder()
        var r = b.process(pid: 500, puid: 0x500)
        b.start(r, parent: nil, method: .root, name: "main")
        var one = b.fork(r, pid: 501, puid: 0x501, name: "taker-ab")
        let two = b.fork(r, pid: 502, puid: 0x502, name: "taker-ba")
        lock(&b, one, .lockAcquire, 0xA, 1)
        lock(&b, two, .lockAcquire, 0xB, 1)
        wait(&b, one, .lock, 0xB, ref: 1)
        wait(&b, two, .lock, 0xA, ref: 1)
        wait(&b, r, .child, 0x501, ref: 501)
        // Only deadlock: the parent, killed while it was blocked joining, did not skip a join
        // (one fault, one violation: missing-join is not also reported).
        out.append(("deadlock-lock-order", false, b.trace, ["deadlock"]))

        // The same locks, where the second taker's wait ended: a contended hand-off, no deadlock.
        b = FixtureBuilder()
        r = b.process(pid: 500, puid: 0x500)
        b.start(r, parent: nil, method: .root, name: "main")
        one = b.fork(r, pid: 501, puid: 0x501, name: "taker")
        lock(&b, one, .lockAcquire, 0xA, 1)
        wait(&b, r, .lock, 0xA, ref: 1)
        lock(&b, one, .lockRelease, 0xA, 1)
        waited(&b, r, .lock, 0xA)
        lock(&b, r, .lockAcquire, 0xA, 2)
        lock(&b, r, .lockRelease, 0xA, 2)
        wait(&b, r, .child, 0x501, ref: 501)
        b.exit(one, 0)
        waited(&b, r, .child, 0x501)
        b.join(r, one, .exited(0))
        b.exit(r, 0)
        out.append(("waits-ended", true, b.trace, []))

        // Both ends of a duplex connection receive: each waits for the other to send.
        b = FixtureBuilder()
        r = b.process(pid: 500, puid: 0x500)
        b.start(r, parent: nil, method: .root, name: "main")
        one = b.fork(r, pid: 501, puid: 0x501, name: "receiver")
        b.event(r, .channelOpen, [.uint(0xC), .uint(2)])
        b.event(one, .channelOpen, [.uint(0xC), .uint(2)])
        wait(&b, r, .channel, 0xC)
        wait(&b, one, .channel, 0xC)
        out.append(("deadlock-receive-cycle", false, b.trace, ["deadlock"]))
        return out
    }
}
