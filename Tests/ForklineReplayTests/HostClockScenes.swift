import Foundation
import ForklineReplay
import ForklineTrace

/// Traces of several hosts whose clocks disagree, built by hand: each host's clock reads the
/// true time plus that host's shift, as a host whose clock is seconds off would record it.
enum HostClockScenes {
    static let channelBase: UInt64 = 0xC10C_0000
    /// True time of the run's start: large enough that a host 3 s behind still reads positive.
    static let t0: UInt64 = 1_000_000_000_000
    static let ms: UInt64 = 1_000_000
    /// One-way message delays: driver -> worker, worker -> driver (unequal, as real links are).
    static let outbound: UInt64 = 50_000, inbound: UInt64 = 20_000

    static func puid(_ host: Int) -> UInt64 { 0xA000_0000_0000_0001 + UInt64(host) << 40 }

    /// A driver on `driverHost` (clock shift 0) does one round trip with a worker on each host of
    /// `workers` (name, clock shift in ns), one after another, 6 ms apart; every host in
    /// `unlinked` runs one process that talks to nobody. `stepAfterReply` moves a worker's clock
    /// by that much after its first round trip, which then does a second: a clock that stepped.
    static func run(driverHost: String = "alpha", workers: [(String, Int64)], unlinked: [String] = [],
                    stepAfterReply: [String: Int64] = [:]) -> Trace {
        var b = FixtureBuilder()
        var hostNames: [UInt64: String] = [:]
        func onHost(_ p: Int, _ name: String) {
            let id = HostID.of(name: name)
            b.processes[p].header.host = id
            hostNames[id] = name
        }
        func at(_ trueTime: UInt64, _ shift: Int64) -> UInt64 { UInt64(Int64(trueTime) + shift) }
        b.clock = t0
        let d = b.process(pid: 10, puid: puid(0))
        onHost(d, driverHost)
        b.start(d, parent: nil, method: .root, name: "main")
        var w: [Int] = []
        for (i, (host, shift)) in workers.enumerated() {
            b.clock = at(t0 + 100_000, shift)
            let p = b.process(pid: 10, puid: puid(i + 1))
            onHost(p, host)
            b.start(p, parent: nil, method: .root, name: "worker")
            b.event(p, .channelOpen, [.uint(channelBase + UInt64(i)), .uint(2)], at: at(t0 + ms, shift))
            b.event(d, .channelOpen, [.uint(channelBase + UInt64(i)), .uint(2)], at: t0 + ms + UInt64(i) * 100_000)
            w.append(p)
        }
        var now = t0 + 2 * ms + UInt64(workers.count) * 100_000
        for (i, (host, shift)) in workers.enumerated() {
            let ch = channelBase + UInt64(i)
            var clock = shift
            for round in 0..<(stepAfterReply[host] == nil ? 1 : 2) {
                if round == 1 { clock += stepAfterReply[host]! }
                let s = b.event(d, .send, [.uint(ch), .uint(8)], at: now)
                b.event(w[i], .recv, [.uint(ch), .uint(puid(0)), .uint(s), .uint(8)], at: at(now + outbound, clock))
                let a = b.event(w[i], .send, [.uint(ch), .uint(16)], at: at(now + 3 * ms, clock))
                b.event(d, .recv, [.uint(ch), .uint(puid(i + 1)), .uint(a), .uint(16)], at: now + 3 * ms + inbound)
                now += 6 * ms
            }
            b.event(w[i], .channelClose, [.uint(ch)], at: at(now - 2 * ms, clock))
            b.event(w[i], .exit, [.int(0)], at: at(now - 2 * ms + 100_000, clock))
        }
        for (i, host) in unlinked.enumerated() {
            b.clock = t0 + 500_000
            let p = b.process(pid: 10, puid: puid(100 + i))
            onHost(p, host)
            b.start(p, parent: nil, method: .root, name: "loner")
            b.event(p, .exit, [.int(0)], at: t0 + 4 * ms)
        }
        for i in workers.indices { b.event(d, .channelClose, [.uint(channelBase + UInt64(i))], at: now + UInt64(i) * 100_000) }
        b.event(d, .exit, [.int(0)], at: now + ms)
        return Trace(processes: b.processes, hostNames: hostNames)
    }

    /// Writes each host's processes as JSON Lines into `dir/<host name>/trace.jsonl`.
    static func write(_ trace: Trace, into dir: String) throws {
        for host in trace.hosts {
            let name = trace.hostLabel(host)
            let ps = trace.processes.filter { $0.header.host == host }
            try FileManager.default.createDirectory(atPath: dir + "/" + name, withIntermediateDirectories: true)
            try Data(JSONLines.export(Trace(processes: ps, hostNames: [host: name])).utf8)
                .write(to: URL(fileURLWithPath: "\(dir)/\(name)/trace.jsonl"))
        }
    }

    /// The Chrome export's flows as (name, start ts, end ts), by flow id.
    static func chromeFlows(_ json: String) throws -> [(name: String, start: Double, end: Double)] {
        let root = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        let events = root?["traceEvents"] as? [[String: Any]] ?? []
        var starts: [Int: (String, Double)] = [:], ends: [Int: Double] = [:]
        for e in events {
            guard let id = e["id"] as? Int, let ts = e["ts"] as? Double else { continue }
            if e["ph"] as? String == "s" { starts[id] = (e["name"] as? String ?? "", ts) }
            if e["ph"] as? String == "f" { ends[id] = ts }
        }
        return starts.keys.sorted().compactMap { id in
            guard let (name, s) = starts[id], let f = ends[id] else { return nil }
            return (name, s, f)
        }
    }

    /// The lane of `show` output under the `host NAME:` heading (its first lane): the marks
    /// after the label's `|`.
    static func lane(_ show: String, host: String) -> [Character]? {
        let lines = show.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let h = lines.firstIndex(of: "host \(host):"), h + 1 < lines.count,
              let bar = lines[h + 1].firstIndex(of: "|") else { return nil }
        return Array(lines[h + 1][lines[h + 1].index(after: bar)...])
    }

    /// `show`'s clocks note: its `clocks:` line and the indented lines that continue it, joined.
    static func clocksBlock(_ show: String) -> String? {
        let lines = show.split(separator: "\n").map(String.init)
        guard let i = lines.firstIndex(where: { $0.hasPrefix("clocks:") }) else { return nil }
        return ([lines[i]] + lines[(i + 1)...].prefix { $0.hasPrefix("  ") }).joined(separator: "\n")
    }
}
