import ForklineTraceFormat

/// How the hosts of a merged trace line up in time, worked out from the trace's cross-host
/// causal links: the offset to add to each host's timestamps to put them on one host's clock.
///
/// Each process stamps its events with its own host's `CLOCK_MONOTONIC`, and hosts' clocks
/// differ by any amount. Every causal edge between two hosts (a send to its recv, over a TCP
/// connection; any other edge of ``CausalGraph`` that crosses hosts) says the effect came after
/// its cause, which bounds the difference of the two hosts' offsets: a message from A to B
/// gives a lower bound on `offset(B) - offset(A)`, one from B to A an upper bound. The bounds
/// are a system of difference constraints: when they can all hold, each host in turn (in order
/// of its links from the reference host, the one with the most links) takes the midpoint of the interval the bounds and the
/// hosts fixed before it leave (as NTP takes the midpoint of a round trip), or, bounded on one
/// side only, the least shift that satisfies it; every edge then runs forward. A host with no
/// link to the reference host keeps its own clock (offset 0, ``Basis/unlinked``). When no
/// constant offsets can satisfy every bound (a cycle of bounds whose sum is negative: a clock
/// that stepped or drifted during the run), ``conflict`` says so and each host falls back to
/// the midpoint of its own links to the host it was first linked from, which leaves some edges
/// running backwards. Past ``exactHostLimit`` hosts (the exact solution is cubic in the hosts)
/// every host is set that way, and ``conflict`` names any link left running backwards.
///
/// Only the views use this (`show`, `html`, the Perfetto export, `stats`): the merge and
/// ``check(_:)`` order events by causal references alone.
public struct HostClocks: Sendable, Hashable {
    /// What a host's offset rests on.
    public enum Basis: String, Sendable, Hashable {
        /// The host whose clock the others are put on (offset 0).
        case reference
        /// Links both ways bound the offset from below and above: it is their interval's midpoint.
        case bounded
        /// Only bounded from below (links into this host): the least shift that puts every
        /// effect after its cause.
        case lowerBoundOnly
        /// Only bounded from above (links out of this host): the least shift that puts every
        /// effect after its cause.
        case upperBoundOnly
        /// No causal link reaches the reference host: the host keeps its own clock (offset 0).
        case unlinked
        /// Its links contradict any constant offset (see ``HostClocks/conflict``): the midpoint
        /// of its links' bounds all the same.
        case contradicted
    }

    /// One host's offset.
    public struct Host: Sendable, Hashable {
        /// The host id (as in ``ProcessHeader/host``).
        public var host: UInt64
        /// The host's name for display (``Trace/hostLabel(_:)``).
        public var name: String
        /// Nanoseconds to add to this host's timestamps to put them on the reference host's clock.
        public var offset: Int64
        /// The smallest offset the links allow, when they bound it from below.
        public var lowest: Int64?
        /// The largest offset the links allow, when they bound it from above.
        public var highest: Int64?
        /// How many cross-host causal edges start or end on this host.
        public var links: Int
        /// What the offset rests on.
        public var basis: Basis

        /// Half the width of the allowed interval: the most the offset can be off from the
        /// truth, when bounded on both sides.
        public var slack: UInt64? {
            guard let lo = lowest, let hi = highest, hi >= lo else { return nil }
            return UInt64(hi - lo) / 2
        }
    }

    /// The host whose clock the views use: the one with the most cross-host links (the driver
    /// of a cluster run), the first of equals in the trace's host order.
    public var reference: UInt64
    /// Every host of the trace, in the trace's host order (``Trace/hosts``).
    public var hosts: [Host]
    /// Set when no set of constant offsets satisfies every link (a clock stepped or drifted
    /// during the run): which hosts' links contradict each other, and by how much.
    public var conflict: String?
    /// The number of cross-host causal edges.
    public var links: Int

    /// Works out the hosts' offsets from `trace`'s cross-host causal edges.
    public init(_ trace: Trace) {
        let ids = trace.hosts
        let n = ids.count
        links = 0
        conflict = nil
        let slot = Dictionary(ids.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        // w[u][v]: the least upper bound on offset(v) - offset(u) the links give (inf: none).
        var w = [[Int64]](repeating: [Int64](repeating: Self.inf, count: n), count: n)
        var linkCount = [Int](repeating: 0, count: n)
        var pairLinks: [[Int]] = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
        if n > 1 {
            let hostOf = trace.processes.map { slot[$0.header.host] ?? 0 }
            let g = trace.causalGraph
            for (pi, list) in g.edges.enumerated() {
                let a = hostOf[pi]
                for e in list where hostOf[e.toProcess] != a {
                    let b = hostOf[e.toProcess]
                    let ta = trace.processes[pi].events[e.from].time, tb = trace.processes[e.toProcess].events[e.toPosition].time
                    // The effect after its cause: ta + offset(a) <= tb + offset(b), that is
                    // offset(a) - offset(b) <= tb - ta.
                    // (Clamped: a damaged time must not overflow the sums below.)
                    w[b][a] = min(w[b][a], Self.clamp(Int64(bitPattern: tb &- ta)))
                    linkCount[a] += 1; linkCount[b] += 1
                    pairLinks[a][b] += 1; pairLinks[b][a] += 1
                    links += 1
                }
            }
        }
        var offset = [Int64](repeating: 0, count: n)
        var lowest = [Int64?](repeating: nil, count: n), highest = [Int64?](repeating: nil, count: n)
        var basis = [Basis](repeating: .unlinked, count: n)
        // The reference: the host with the most links (the driver of a cluster run), the first of equals.
        let r = linkCount.indices.max { linkCount[$0] < linkCount[$1] || (linkCount[$0] == linkCount[$1] && $0 > $1) } ?? 0
        reference = n > 0 ? ids[r] : 0
        if n > 0 { basis[r] = .reference }
        let order = Self.linkOrder(pairLinks, from: r)
        // Shortest paths over the bounds: d[u][v] is the tightest upper bound on
        // offset(v) - offset(u) that the links imply together (cubic in the hosts: done up to
        // `exactHostLimit` hosts).
        let exact = n <= Self.exactHostLimit
        var d = w
        var cycle: [Int] = []
        if exact {
            for i in 0..<n { d[i][i] = min(d[i][i], 0) }
            for k in 0..<n { for i in 0..<n where d[i][k] < Self.inf { for j in 0..<n { d[i][j] = min(d[i][j], Self.add(d[i][k], d[k][j])) } } }
            cycle = (0..<n).filter { d[$0][$0] < 0 }
        }
        if exact && cycle.isEmpty {
            for (v, _) in order where v != r {
                let lo = d[v][r] < Self.inf ? -d[v][r] : nil, hi = d[r][v] < Self.inf ? d[r][v] : nil
                lowest[v] = lo; highest[v] = hi
                let x: Int64
                switch (lo, hi) {
                case let (lo?, hi?): x = lo + (hi - lo) / 2; basis[v] = .bounded
                case let (lo?, nil): x = max(lo, 0); basis[v] = .lowerBoundOnly
                case let (nil, hi?): x = min(hi, 0); basis[v] = .upperBoundOnly
                case (nil, nil): x = 0; basis[v] = .unlinked
                }
                offset[v] = x
                // Fix offset(v) = x: the edges r -> v (x) and v -> r (-x), folded into d.
                var next = d
                for i in 0..<n {
                    for j in 0..<n {
                        next[i][j] = min(d[i][j], Self.add(Self.add(d[i][r], x), d[v][j]), Self.add(Self.add(d[i][v], -x), d[r][j]))
                    }
                }
                d = next
            }
        } else {
            // Each host from its own links to the host it was first linked from.
            for (v, parent) in order where v != r {
                guard let u = parent else { basis[v] = .unlinked; continue }
                // offset(v) - offset(u) is at least -w[v][u] and at most w[u][v].
                let lo = w[v][u] < Self.inf ? -w[v][u] : nil, hi = w[u][v] < Self.inf ? w[u][v] : nil
                let x: Int64
                switch (lo, hi) {
                case let (lo?, hi?): x = lo + (hi - lo) / 2; basis[v] = lo <= hi ? .bounded : .contradicted
                case let (lo?, nil): x = max(lo, 0); basis[v] = .lowerBoundOnly
                case let (nil, hi?): x = min(hi, 0); basis[v] = .upperBoundOnly
                case (nil, nil): x = 0
                }
                if cycle.contains(v) { basis[v] = .contradicted }
                offset[v] = Self.clamp(offset[u] + x)
                lowest[v] = lo.map { Self.clamp(offset[u] + $0) }; highest[v] = hi.map { Self.clamp(offset[u] + $0) }
            }
            // Which pairs of hosts still have a link running backwards.
            var backwards: [(Int, Int)] = []
            for u in 0..<n { for v in 0..<n where w[u][v] < Self.inf && offset[v] - offset[u] > w[u][v] { backwards.append((u, v)) } }
            let names = (exact ? cycle : Array(Set(backwards.flatMap { [$0.0, $0.1] })).sorted()).map { trace.hostLabel(ids[$0]) }
            if exact {
                let worst = cycle.map { -d[$0][$0] }.max() ?? 0
                conflict = "the links between " + Self.list(names) + " contradict any constant clock offsets by up to "
                    + formatNs(UInt64(worst)) + " (a clock stepped or drifted during the run): each host is set to the midpoint of its links to the host it was first linked from, and some arrows may run backwards"
            } else if !backwards.isEmpty {
                conflict = "more than \(Self.exactHostLimit) hosts: each host is set to the midpoint of its links to the host it was first linked from, and links between " + Self.list(names) + " still run backwards"
            }
        }
        hosts = ids.enumerated().map { i, id in
            Host(host: id, name: trace.hostLabel(id), offset: offset[i], lowest: lowest[i], highest: highest[i], links: linkCount[i], basis: basis[i])
        }
    }

    /// The offset of `host` (0 for a host not in the trace).
    public func offset(of host: UInt64) -> Int64 { hosts.first { $0.host == host }?.offset ?? 0 }

    /// True when every offset is 0 (one host, or nothing to align).
    public var isIdentity: Bool { hosts.allSatisfy { $0.offset == 0 } }

    static let inf = Int64.max / 4
    /// Up to this many hosts the offsets come from every link together (cubic in the hosts);
    /// beyond it, each host from its links to the host it was first linked from.
    public static let exactHostLimit = 256

    /// `x` within half of `inf` either way: the most a bound or an offset can be (36 years).
    static func clamp(_ x: Int64) -> Int64 { min(max(x, -inf / 2), inf / 2) }

    /// `a + b`, infinite when either is, and never below `-inf` (a negative cycle's paths grow
    /// without end).
    static func add(_ a: Int64, _ b: Int64) -> Int64 {
        a >= inf || b >= inf ? inf : max(a + b, -inf)
    }

    /// Hosts (by slot) in the order they are fixed: breadth first over the links from host
    /// `first`, then each further group of linked hosts from its first host; each with the host
    /// it was reached from (nil for the first of a group).
    static func linkOrder(_ pairLinks: [[Int]], from first: Int) -> [(Int, Int?)] {
        let n = pairLinks.count
        var seen = [Bool](repeating: false, count: n), out: [(Int, Int?)] = []
        for start in [first] + Array(0..<n) where start < n && !seen[start] {
            seen[start] = true
            var queue = [(start, Int?.none)], head = 0
            while head < queue.count {
                let (u, parent) = queue[head]
                head += 1
                out.append((u, parent))
                for v in 0..<n where !seen[v] && pairLinks[u][v] > 0 {
                    seen[v] = true
                    queue.append((v, u))
                }
            }
        }
        return out
    }

    static func list(_ names: [String]) -> String {
        names.count <= 1 ? names.joined() : names.dropLast().joined(separator: ", ") + " and " + names.last!
    }
}
