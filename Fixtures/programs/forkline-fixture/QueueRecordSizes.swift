// `forkline-fixture queue-record-sizes METHOD [TRACE_DIR]`: how much of a queue's ring an item
// takes, and records of both sizes in one ring. A record carries its sender (puid and send
// sequence, for a recv to name its send) only when its put is traced: an untraced 8-byte item
// takes 16 bytes, a traced one 32 (docs/channels.md, "Records"). Prints how many Ints a
// 256-byte ring holds before a put finds it full, then (with a TRACE_DIR, run untraced) a fork
// child that traces itself and this untraced process put Strings of every length from 0 to 40
// into one 256-byte ring at once, so records with and without a sender lie side by side and
// wrap around the ring's end at every offset; this process gets them all and checks each
// producer's order and content.
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum QueueRecordSizes {
    static func run(method m: StartMethod, dir: String?) throws {
        let q = try Queue<Int>(capacity: 256)
        var held = 0
        while true {
            do { try q.putNowait(held) } catch { break }
            held += 1
        }
        var order = true
        for i in 0..<held where try q.getNowait() != i { order = false }
        print("a 256-byte ring holds \(held) Ints \(order ? "in order" : "OUT OF ORDER")")
        guard let dir else { return }
        try mixed(dir)
    }

    static func text(_ producer: Int, _ i: Int) -> String { "\(producer):\(i):" + String(repeating: "x", count: i % 41) }

    static func mixed(_ dir: String) throws {
        let n = 3000
        let q = try Queue<String>(capacity: 256)
        var o = ChildOptions(name: "traced-producer", method: .fork)
        o.pass(q)
        let child = ChildProcess(options: o) {
            try Tracer.start(directory: dir)
            for i in 0..<n { try q.put(text(1, i)) }
        }
        try child.start()
        var next = [0, 0], bad = 0, mine = 0
        while next[0] + next[1] < 2 * n {
            // Put one of ours when there is room, then take whatever is oldest.
            if mine < n, (try? q.putNowait(text(0, mine))) != nil { mine += 1 }
            guard let s = try? q.get(timeout: .seconds(60)) else { break }
            let producer = s.hasPrefix("1:") ? 1 : 0
            if s != text(producer, next[producer]) { bad += 1 }
            next[producer] += 1
        }
        print("status \(try child.join(timeout: nil)!)")
        print("mixed: got \(next[0]) untraced and \(next[1]) traced, \(bad) wrong")
    }
}
