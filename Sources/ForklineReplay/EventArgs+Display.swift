import ForklineTraceFormat

/// An event argument as the views show it: a number, a text (an id in hex, an enum code by
/// name, a status), or a list of symbolised frames.
package enum DisplayValue: Sendable, Hashable {
    /// An integer, written as a JSON number.
    case number(Int64)
    /// An unsigned integer too big for `number` is written as text; so are ids and enum names.
    case text(String)
    /// A flag (`ok`, `ordered`, `terminate`, ...).
    case flag(Bool)
    /// A backtrace: one line per frame (symbolised where the modules allow).
    case frames([String])

    /// The value as JSON.
    package var json: String {
        switch self {
        case .number(let n): "\(n)"
        case .text(let s): JSONLines.quote(s)
        case .flag(let b): b ? "true" : "false"
        case .frames(let f): "[" + f.map(JSONLines.quote).joined(separator: ",") + "]"
        }
    }
}

/// How argument values are named, shared by every view (show, html, Chrome, ShiViz).
enum ArgNames {
    /// Arguments that hold an id (a puid, a pool, channel or lock id, an address): always hex.
    static func isID(_ kind: EventKind, _ name: String) -> Bool {
        if name.hasSuffix("Puid") { return true }
        switch name {
        case "address", "pc", "channel", "lock", "pool", "semaphore", "barrier", "condition", "queue": return true
        case "worker": return kind == .poolDispatch
        case "old", "new": return kind == .workerReplaced
        case "event": return kind == .eventSet || kind == .eventWait
        case "object": return kind == .waitBegin || kind == .waitEnd
        default: return false
        }
    }

    /// Arguments that are 0/1 flags.
    static let flags: Set<String> = ["ok", "ordered", "terminate", "notified", "ownerDied", "recorded"]

    /// The name of an enum code, nil when the argument is not an enum or the code is unknown.
    static func enumName(_ kind: EventKind, _ name: String, _ code: UInt64) -> String? {
        func pick(_ names: [String]) -> String? { code < UInt64(names.count) ? names[Int(code)] : nil }
        switch (kind, name) {
        case (_, "method"): return UInt8(exactly: code).flatMap(StartMethod.init(rawValue:))?.description
        case (.poolResult, "outcome"):
            return pick(["value", "thrown", "worker died", "timed out", "cancelled", "pool terminated", "no worker could start"])
        case (.workerReplaced, "reason"): return pick(["maxTasksPerChild", "died", "killed after a task timeout", "died while starting"])
        case (.channelOpen, "kind"): return pick(["read end", "write end", "duplex", "queue"])
        case (.waitBegin, "what"), (.waitEnd, "what"): return UInt8(exactly: code).flatMap(WaitKind.init(rawValue:))?.description
        case (.waitEnd, "outcome"): return UInt8(exactly: code).flatMap(WaitOutcome.init(rawValue:))?.description
        case (.eventTruncated, "kind"): return UInt16(exactly: code).flatMap(EventKind.init(rawValue:))?.name
        default: return nil
        }
    }

    /// `value` of argument `spec` of an event of `kind`, typed. Backtraces are symbolised with
    /// `symbolize` when given, else shown as addresses.
    static func display(_ kind: EventKind, _ spec: ArgumentSpec, _ v: TraceValue, symbolize: ((Backtrace) -> [String]?)? = nil) -> DisplayValue {
        switch v {
        case .int(let i): return .number(i)
        case .uint(let u):
            if isID(kind, spec.name) { return .text("0x" + String(u, radix: 16)) }
            if let n = enumName(kind, spec.name, u) { return .text(n) }
            if flags.contains(spec.name), u <= 1 { return .flag(u == 1) }
            return u <= UInt64(Int64.max) ? .number(Int64(u)) : .text("\(u)")
        case .string(let s): return .text(s)
        case .backtrace(let b):
            guard let frames = b.frames else { return .text("unavailable") }
            return .frames(symbolize?(b) ?? frames.map { "0x" + String($0, radix: 16) })
        case .modules(let m): return .number(Int64(m.count))
        case .status(let s): return .text(s.description)
        }
    }
}

extension EventText {
    /// The arguments typed for JSON views (Chrome), backtraces symbolised with `symbolize`.
    package static func typedArguments(_ e: TraceEvent, symbolize: ((Backtrace) -> [String]?)? = nil) -> [(name: String, value: DisplayValue)] {
        zip(e.kind.arguments, e.args).map { spec, v in (spec.name, ArgNames.display(e.kind, spec, v, symbolize: symbolize)) }
    }
}
