// Shared memory scenarios (`forkline-fixture shm-* METHOD [N]`): SharedArray across children, and
// named segments that children attach to by name and the last user removes.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

struct ArrayArgs: Codable, Sendable { var slots: SharedArray<Int>; var totals: SharedArray<Double>; var index: Int }
struct SegmentArgs: Codable, Sendable { var segment: SharedMemory; var talk: Connection }

enum SharedArrays {
    static let slicePerChild = 100

    /// Fills its own slice of `slots`, and adds to `totals` under the lock 500 times.
    static let filler = EntryPoint<ArrayArgs>("shm-filler") { a in
        let lo = a.index * slicePerChild
        for j in lo..<(lo + slicePerChild) { a.slots[j] = a.index * 1000 + j }
        for _ in 0..<500 {
            a.totals.withLock { t in
                t[0] += 1
                t[1] += Double(a.index)
            }
        }
    }

    /// Attaches by name (argument decoding), answers what it read, waits for "go", then closes.
    static let attacher = EntryPoint<SegmentArgs>("shm-attacher") { a in
        let read = String(decoding: a.segment.bytes[0..<5], as: UTF8.self)
        let reply = Array("child read \(read)".utf8)
        a.segment.bytes.baseAddress!.advanced(by: 100).copyMemory(from: reply, byteCount: reply.count)
        try a.talk.send(reply.count)
        _ = try a.talk.receive(String.self)
        a.segment.close()
    }

    /// Attaches by name, raises a flag in the segment, and waits to be killed.
    static let sitter = EntryPoint<SharedMemory>("shm-sitter") { segment in
        segment.bytes[0] = 1
        sleep(600)
    }

    static let entries: [any AnyEntryPoint] = [filler, attacher, sitter]

    static func run(_ scenario: String, _ m: StartMethod, _ count: Int) throws {
        switch scenario {
        case "shm-array": try array(m, count)
        case "shm-named": try named(m)
        default:
            writeStderrLine("unknown scenario \(scenario)")
            exit(2)
        }
    }

    static func array(_ m: StartMethod, _ count: Int) throws {
        let slots = try SharedArray<Int>(repeating: -1, count: count * slicePerChild, lock: false)
        let totals = try SharedArray<Double>([0, 0])
        var children: [ChildProcess] = []
        for i in 0..<count {
            children.append(try Queues.start(filler, ArrayArgs(slots: slots, totals: totals, index: i), m, name: "filler\(i)", pass: [slots, totals]))
        }
        for c in children { _ = try c.join(timeout: nil) }
        let ok = slots.elements.enumerated().allSatisfy { $0.element == ($0.offset / slicePerChild) * 1000 + $0.offset }
        print("slices \(ok ? "ok" : "wrong: \(slots.elements.prefix(10))")")
        print("totals \(totals.elements)")
    }

    static func exists(_ name: String) -> Bool { access("/dev/shm/\(name)", F_OK) == 0 }

    static func named(_ m: StartMethod) throws {
        let segment = try SharedMemory(size: 4096)
        segment.bytes.copyBytes(from: Array("hello".utf8))
        let (mine, theirs) = try Connection.pipe()
        let c = try Queues.start(attacher, SegmentArgs(segment: segment, talk: theirs), m, name: "attacher", pass: [theirs])
        theirs.close()
        let n = try mine.receive(Int.self) ?? 0
        print(String(decoding: segment.bytes[100..<(100 + n)], as: UTF8.self))
        // The creator leaves first: the child still uses the segment, so its name stays.
        segment.close()
        print("after the creator closed: exists \(exists(segment.name))")
        try mine.send("go")
        print("status \(try c.join(timeout: nil)!)")
        print("after the last user closed: exists \(exists(segment.name))")
        func outcome(_ body: () throws -> Void) -> String {
            do { try body(); return "ok" } catch let e as ChannelError { return "\(e.code)" } catch { return "\(error)" }
        }
        print("attach to it now: \(outcome { _ = try SharedMemory(name: segment.name, create: false) })")
        let again = try SharedMemory(name: segment.name, size: 64)
        print("create a taken name: \(outcome { _ = try SharedMemory(name: again.name, size: 64) })")
        again.close()
        print("exists at the end: \(exists(segment.name))")
        // A user SIGKILLed while attached does not keep the segment alive.
        let other = try SharedMemory(size: 4096)
        let killed = try Queues.start(sitter, other, m, name: "sitter", pass: [])
        for _ in 0..<30_000 where other.bytes[0] == 0 { usleep(1000) }
        try killed.kill()
        print("killed user: \(try killed.join(timeout: nil)!)")
        other.close()
        print("after a killed user: exists \(exists(other.name))")
    }
}
