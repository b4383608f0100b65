import ForklineTraceFormat

#if canImport(Glibc)
import Glibc
#endif

/// Traces of several hosts: loading and merging their directories, and naming their lanes.
extension Trace {
    /// Loads the traces of several hosts and merges them into one trace: each path is a trace
    /// directory (or file), usually one per host; a single directory that holds no trace file
    /// but subdirectories that do is read as one subdirectory per host.
    ///
    /// Nothing is reordered or shifted: each process keeps its own events and clock, and every
    /// ordering question is answered from causal references (a `start` names its `fork`, a
    /// `recv` its `send`), so clocks that differ between hosts do not matter. A process whose
    /// header has no host id (a trace written before host ids, or made by hand) is given the id
    /// of the name of the directory it came from. A puid met in two paths is a load problem: the
    /// second copy is left out and named in ``unreadable``.
    /// - Throws: ``ReplayError`` when a path is missing, or no path holds a readable trace.
    public static func load(paths: [String]) throws(ReplayError) -> Trace {
        guard !paths.isEmpty else { throw ReplayError("no trace given", code: .notFound) }
        var parts = paths
        if paths.count == 1 {
            do { return try load(path: paths[0]) } catch where error.code == .noTraceFiles {
                let hosts = traceSubdirectories(paths[0])
                if hosts.isEmpty { throw error }
                parts = hosts
            }
        }
        var processes: [ProcessTrace] = []
        var unreadable: [String] = []
        var hostNames: [UInt64: String] = [:]
        var seen: [UInt64: String] = [:]
        var loadedAny = false
        for part in parts {
            let trace: Trace
            do { trace = try load(path: part) } catch {
                if error.code == .notFound { throw error }
                unreadable.append(error.message)
                continue
            }
            loadedAny = true
            unreadable += trace.unreadable
            let label = baseName(part)
            let ids = Set(trace.processes.map(\.header.host))
            for (id, name) in trace.hostNames { hostNames[id] = hostNames[id] ?? name }
            for var p in trace.processes {
                if p.header.host == 0 {
                    p.header.host = HostID.of(name: label)
                    hostNames[p.header.host] = hostNames[p.header.host] ?? label
                } else if hostNames[p.header.host] == nil, ids.count == 1 {
                    hostNames[p.header.host] = label
                }
                if let first = seen[p.header.puid] {
                    unreadable.append("\(p.source): puid \(hex16(p.header.puid)) was already loaded from \(first) (the same trace given twice?); this copy is left out")
                    continue
                }
                seen[p.header.puid] = part
                processes.append(p)
            }
        }
        guard loadedAny, !processes.isEmpty else {
            throw ReplayError("no readable trace in " + parts.joined(separator: ", ") + "\n"
                + unreadable.map { "  " + $0 }.joined(separator: "\n"), code: .unreadable)
        }
        return Trace(processes: processes, unreadable: unreadable, hostNames: hostNames)
    }

    /// The host ids of the processes, in order of first appearance (0 for an unknown host).
    public var hosts: [UInt64] {
        var seen = Set<UInt64>()
        return processes.compactMap { seen.insert($0.header.host).inserted ? $0.header.host : nil }
    }

    /// True when the processes ran on more than one host: `show`, `html` and the Perfetto export
    /// then group their lanes by host.
    public var isMultiHost: Bool { hosts.count > 1 }

    /// `processes` grouped by host (hosts in order of first appearance, processes in their
    /// order within a host); unchanged for a trace of one host.
    public func groupedByHost(_ processes: [ProcessTrace]) -> [ProcessTrace] {
        guard isMultiHost else { return processes }
        let rank = Dictionary(hosts.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        return processes.enumerated().sorted {
            (rank[$0.element.header.host] ?? 0, $0.offset) < (rank[$1.element.header.host] ?? 0, $1.offset)
        }.map(\.element)
    }

    /// The indices of ``processes`` grouped by host, as ``groupedByHost(_:)`` orders them.
    var hostOrder: [Int] {
        guard isMultiHost else { return Array(processes.indices) }
        let rank = Dictionary(hosts.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        return processes.indices.sorted { (rank[processes[$0].header.host] ?? 0, $0) < (rank[processes[$1].header.host] ?? 0, $1) }
    }

    /// A host's name for display: its recorded name, else `host` and the first digits of its id.
    public func hostLabel(_ host: UInt64) -> String {
        if let name = hostNames[host] { return name }
        return host == 0 ? "unknown host" : "host " + String(hex16(host).prefix(8))
    }

    /// Reads `<id>.host` files: each holds the name of the host with that id.
    static func readHostFiles(_ paths: [String]) -> [UInt64: String] {
        var names: [UInt64: String] = [:]
        for path in paths {
            let file = baseName(path)
            guard let id = UInt64(file.prefix { $0 != "." }, radix: 16),
                  let bytes = try? readTraceFile(path, json: { _, _ in true }).bytes else { continue }
            let name = String(decoding: bytes.prefix(256), as: UTF8.self).split(separator: "\n").first.map(String.init)
            if let name, !name.isEmpty { names[id] = name }
        }
        return names
    }

    /// The subdirectories of `path` that hold trace files, in name order.
    static func traceSubdirectories(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        var found: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let sub = path + "/" + name
            var st = stat()
            guard stat(sub, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else { continue }
            if containsTraceFiles(sub) { found.append(sub) }
        }
        closedir(dir)
        return found.sorted()
    }

    static func containsTraceFiles(_ path: String) -> Bool {
        guard let dir = opendir(path) else { return false }
        defer { closedir(dir) }
        while let e = readdir(dir) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name.hasSuffix(".\(TraceFormat.fileExtension)") || name.hasSuffix(".jsonl") { return true }
        }
        return false
    }

    static func baseName(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p = p.dropLast() }
        return String(p.split(separator: "/").last ?? p)
    }
}
