import FoundationEssentials
import ForklineTraceFormat

/// The JSON Lines form of a trace (docs/trace-format.md, "JSON Lines"): one object per line, a
/// `process` line before each process's events. `replay export --format jsonl` writes it and
/// `replay` reads it back, so golden fixtures can be readable text.
public enum JSONLines {
    /// Renders a trace as JSON Lines.
    public static func export(_ trace: Trace) -> String {
        var out = ""
        for p in trace.processes {
            let h = p.header
            // `host` (and the host's name when known) only for traces that have host ids, so the
            // export of an older trace is unchanged.
            var host = ""
            if h.host != 0 {
                host = ",\"host\":\"\(hex16(h.host))\""
                if let name = trace.hostNames[h.host] { host += ",\"host_name\":\(quote(name))" }
            }
            out += "{\"process\":{\"pid\":\(h.pid),\"ppid\":\(h.ppid),\"puid\":\"\(hex16(h.puid))\",\"start_ns\":\(h.startTime),\"realtime_ns\":\(h.realtime),\"version\":\(h.version)\(host)}}\n"
            for e in p.events { out += line(e) + "\n" }
        }
        return out
    }

    /// One event as a JSON object.
    public static func line(_ e: TraceEvent) -> String {
        var args: [String] = []
        for (spec, v) in zip(e.kind.arguments, e.args) {
            args.append("\"\(spec.name)\":\(value(spec, v))")
        }
        return "{\"pid\":\(e.pid),\"puid\":\"\(hex16(e.puid))\",\"seq\":\(e.seq),\"time_ns\":\(e.time),\"kind\":\"\(e.kind.name)\",\"args\":{\(args.joined(separator: ","))}}"
    }

    static func value(_ spec: ArgumentSpec, _ v: TraceValue) -> String {
        switch spec.type {
        case .u8, .i32: return "\(v.int ?? 0)"
        case .u64:
            let u = v.uint ?? 0
            if spec.name.hasSuffix("Puid") { return "\"\(hex16(u))\"" }
            if spec.name == "address" || spec.name == "pc" { return "\"0x\(String(u, radix: 16))\"" }
            return "\(u)"
        case .string: return quote(v.string ?? "")
        case .frames:
            guard let f = v.backtrace?.frames else { return "\"unavailable\"" }
            return "[" + f.map { "\"0x\(String($0, radix: 16))\"" }.joined(separator: ",") + "]"
        case .modules:
            return "[" + (v.modules ?? []).map {
                "{\"start\":\"0x\(String($0.start, radix: 16))\",\"end\":\"0x\(String($0.end, radix: 16))\",\"offset\":\"0x\(String($0.offset, radix: 16))\",\"path\":\(quote($0.path))}"
            }.joined(separator: ",") + "]"
        case .status:
            switch v.status ?? .exited(0) {
            case .exited(let c): return "{\"exited\":\(c)}"
            case .signaled(let s): return "{\"signaled\":\(s)}"
            }
        }
    }

    /// `s` as a JSON string literal. Most strings need no escape and are copied whole; the others
    /// are escaped byte by byte (UTF-8 sequences pass through unchanged).
    static func quote(_ s: String) -> String {
        if !s.utf8.contains(where: { $0 == 0x22 || $0 == 0x5C || $0 < 0x20 }) { return "\"" + s + "\"" }
        var out: [UInt8] = [0x22]
        out.reserveCapacity(s.utf8.count + 16)
        let hex = Array("0123456789abcdef".utf8)
        for b in s.utf8 {
            switch b {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, UInt8(ascii: "n")]
            case 0x09: out += [0x5C, UInt8(ascii: "t")]
            case 0x0D: out += [0x5C, UInt8(ascii: "r")]
            case ..<0x20: out += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        out.append(0x22)
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses JSON Lines into processes. A line that is not valid is reported as damage of the
    /// process it belongs to; events before any `process` line make the file unreadable.
    public static func parse(_ bytes: [UInt8], source: String) throws(ReplayError) -> [ProcessTrace] {
        var names: [UInt64: String] = [:]
        return try parse(bytes, source: source, hostNames: &names)
    }

    /// Parses JSON Lines into processes, collecting the `host_name` of each `host` id met.
    package static func parse(_ bytes: [UInt8], source: String, hostNames: inout [UInt64: String]) throws(ReplayError) -> [ProcessTrace] {
        var processes: [ProcessTrace] = []
        let decoder = JSONDecoder()
        var lineNumber = 0
        for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if raw.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            guard let v = try? decoder.decode(JSONValue.self, from: Data(raw)) else {
                if processes.isEmpty { throw ReplayError("\(source):\(lineNumber): not a JSON Lines trace (invalid JSON)", code: .invalidFile) }
                processes[processes.count - 1].damage.append("line \(lineNumber): invalid JSON; skipped")
                continue
            }
            if let p = v["process"] {
                guard let puid = p["puid"]?.u64, let pid = p["pid"]?.int else {
                    throw ReplayError("\(source):\(lineNumber): a process line needs pid and puid", code: .invalidFile)
                }
                let header = ProcessHeader(
                    version: UInt16(truncatingIfNeeded: p["version"]?.int ?? 1), pid: Int32(truncatingIfNeeded: pid),
                    ppid: Int32(truncatingIfNeeded: p["ppid"]?.int ?? 0), puid: puid,
                    startTime: p["start_ns"]?.u64 ?? 0, realtime: p["realtime_ns"]?.u64 ?? 0, host: p["host"]?.u64 ?? 0)
                if header.host != 0, let name = p["host_name"]?.string { hostNames[header.host] = name }
                processes.append(ProcessTrace(header: header, events: [], source: "\(source):\(lineNumber)"))
                continue
            }
            guard !processes.isEmpty else { throw ReplayError("\(source):\(lineNumber): an event before any process line", code: .invalidFile) }
            do {
                processes[processes.count - 1].events.append(try event(v, header: processes[processes.count - 1].header))
            } catch {
                processes[processes.count - 1].damage.append("line \(lineNumber): \(error.message); skipped")
            }
        }
        if processes.isEmpty { throw ReplayError("\(source): empty trace file", code: .invalidFile) }
        return processes
    }

    static func event(_ v: JSONValue, header: ProcessHeader) throws(ReplayError) -> TraceEvent {
        guard let name = v["kind"]?.string else { throw ReplayError("no kind") }
        guard let kind = EventKind(name: name) else { throw ReplayError("unknown kind '\(name)'") }
        guard let seq = v["seq"]?.u64, let time = v["time_ns"]?.u64 else { throw ReplayError("\(name): seq and time_ns are required") }
        let a = v["args"]
        var args: [TraceValue] = []
        for spec in kind.arguments {
            guard let x = a?[spec.name] else { throw ReplayError("\(name): missing argument '\(spec.name)'") }
            switch spec.type {
            case .u8, .i32:
                guard let i = x.int else { throw ReplayError("\(name).\(spec.name): expected an integer") }
                args.append(spec.type == .u8 ? .uint(UInt64(truncatingIfNeeded: i)) : .int(i))
            case .u64:
                guard let u = x.u64 else { throw ReplayError("\(name).\(spec.name): expected an unsigned integer or hex string") }
                args.append(.uint(u))
            case .string:
                guard let s = x.string else { throw ReplayError("\(name).\(spec.name): expected a string") }
                args.append(.string(s))
            case .frames:
                if x.string == "unavailable" { args.append(.backtrace(.unavailable)); continue }
                guard case .array(let items) = x else { throw ReplayError("\(name).\(spec.name): expected an array of addresses") }
                args.append(.backtrace(Backtrace(frames: items.compactMap(\.u64))))
            case .modules:
                guard case .array(let items) = x else { throw ReplayError("\(name).\(spec.name): expected an array of modules") }
                args.append(.modules(items.compactMap { m in
                    guard let s = m["start"]?.u64, let e = m["end"]?.u64, let path = m["path"]?.string else { return nil }
                    return Module(start: s, end: e, offset: m["offset"]?.u64 ?? 0, path: path)
                }))
            case .status:
                if let c = x["exited"]?.int { args.append(.status(.exited(Int32(truncatingIfNeeded: c)))) }
                else if let s = x["signaled"]?.int { args.append(.status(.signaled(Int32(truncatingIfNeeded: s)))) }
                else { throw ReplayError("\(name).\(spec.name): expected {\"exited\": n} or {\"signaled\": n}") }
            }
        }
        return TraceEvent(kind: kind, pid: header.pid, puid: header.puid, seq: seq, time: time, args: args)
    }
}
