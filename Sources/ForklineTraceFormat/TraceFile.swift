
/// The fixed header of one process's trace file.
public struct ProcessHeader: Sendable, Hashable {
    /// Format version of the file.
    public var version: UInt16
    public var pid: Int32
    public var ppid: Int32
    public var puid: UInt64
    /// CLOCK_MONOTONIC when the file was opened, in ns.
    public var startTime: UInt64
    /// CLOCK_REALTIME at the same moment (for display only; order never uses it).
    public var realtime: UInt64
    /// The id of the host the process ran on (``HostID/of(name:)`` of its host name); 0 when
    /// unknown (traces written before host ids, or made by hand).
    public var host: UInt64

    public init(version: UInt16 = TraceFormat.version, pid: Int32, ppid: Int32, puid: UInt64, startTime: UInt64, realtime: UInt64,
                host: UInt64 = 0) {
        self.version = version
        self.pid = pid
        self.ppid = ppid
        self.puid = puid
        self.startTime = startTime
        self.realtime = realtime
        self.host = host
    }
}

/// One process's part of a trace: its header, its events in file order, and what was damaged.
public struct ProcessTrace: Sendable, Hashable {
    public var header: ProcessHeader
    public var events: [TraceEvent]
    /// Human-readable descriptions of damage found while reading (empty when sound).
    public var damage: [String]
    /// Records that were reserved but never committed: a thread was writing one when the
    /// process died (SIGKILL, a crash on another thread, `exit` while it wrote). Whether that is
    /// damage depends on how the process ended, which the checker decides.
    public var interrupted: [String]
    /// Where the events came from (a file path), for reports.
    public var source: String

    public init(header: ProcessHeader, events: [TraceEvent], damage: [String] = [], interrupted: [String] = [],
                source: String = "") {
        self.header = header
        self.events = events
        self.damage = damage
        self.interrupted = interrupted
        self.source = source
    }
}

/// Constants of the binary format (docs/trace-format.md).
public enum TraceFormat {
    public static let magic: [UInt8] = Array("FLTRACE".utf8) + [0]
    // The recorder (CForkline.h) defines the same numbers; FormatConstantsTests checks they agree.
    public static let version: UInt16 = 1
    public static let fileHeaderSize = 64
    public static let recordHeaderSize = 24
    public static let paddingKind: UInt16 = 0xFFFF
    /// Trace files are named `<pid>.<puid as 16 hex digits>.flt`.
    public static let fileExtension = "flt"
    /// A host file, `<host id as 16 hex digits>.host`, holds the name of the host with that id
    /// (one line); the first traced process of a host writes it into the trace directory.
    public static let hostFileExtension = "host"
}

/// A trace file that cannot be read at all.
public struct TraceFileError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable {
        /// Shorter than the file header.
        case tooShort
        /// Does not start with the magic bytes.
        case badMagic
        /// Written by a newer Forkline.
        case newerVersion(UInt16)
        /// The header's own size field is wrong.
        case badHeader
    }

    public var code: Code
    public var source: String

    public var description: String {
        switch code {
        case .tooShort: "\(source): not a Forkline trace file (shorter than its 64-byte header)"
        case .badMagic: "\(source): not a Forkline trace file (bad magic bytes)"
        case .newerVersion(let v):
            "\(source): trace format version \(v) is newer than this reader's \(TraceFormat.version); upgrade Forkline"
        case .badHeader: "\(source): damaged file header"
        }
    }
}

extension ProcessTrace {
    /// Parses one binary trace file. Damage after a sound header is reported in `damage` and the
    /// sound events before it are kept; only an unreadable header throws.
    public init(bytes: UnsafeRawBufferPointer, source: String) throws(TraceFileError) {
        guard bytes.count >= TraceFormat.fileHeaderSize else { throw TraceFileError(code: .tooShort, source: source) }
        guard Array(bytes[0..<8]) == TraceFormat.magic else { throw TraceFileError(code: .badMagic, source: source) }
        func load<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T { T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self)) }
        let version = load(8, UInt16.self)
        guard version <= TraceFormat.version else { throw TraceFileError(code: .newerVersion(version), source: source) }
        let headerSize = Int(load(10, UInt16.self))
        guard version >= 1, headerSize >= TraceFormat.fileHeaderSize, headerSize <= bytes.count, headerSize % 8 == 0 else {
            throw TraceFileError(code: .badHeader, source: source)
        }
        let header = ProcessHeader(
            version: version, pid: load(16, Int32.self), ppid: load(20, Int32.self), puid: load(24, UInt64.self),
            startTime: load(32, UInt64.self), realtime: load(40, UInt64.self), host: load(48, UInt64.self))
        var events: [TraceEvent] = []
        var damage: [String] = []
        var interrupted: [String] = []
        var unknown: [UInt16: Int] = [:]
        var at = headerSize
        let end = bytes.count
        while at + 8 <= end {
            let size = Int(load(at, UInt32.self))
            let kindRaw = load(at + 4, UInt16.self)
            let words = Int(load(at + 6, UInt16.self))
            if size == 0 {
                // Uncommitted: either the clean end (all zero) or a record whose writer died
                // between reserving and publishing it. Its reserved size lets us step over it.
                if words == 0 && kindRaw == 0 { break }
                if words > 0, at + words * 8 <= end {
                    interrupted.append("offset \(at): a record (kind \(kindRaw)) was reserved but never committed; skipped")
                    at += words * 8
                    continue
                }
                damage.append("offset \(at): garbage where a record header should be; the rest of the file is skipped")
                break
            }
            guard size % 8 == 0, size >= 8, at + size <= end else {
                damage.append("offset \(at): record size \(size) is invalid or runs past the end of the file (truncated); the rest is skipped")
                break
            }
            if kindRaw == TraceFormat.paddingKind { at += size; continue }
            // The writer stores the size in words at reservation and in bytes at the commit: a
            // record whose two disagree was damaged after it was written.
            guard words * 8 == size else {
                damage.append("offset \(at): record size \(size) disagrees with its size in words (\(words)); the rest is skipped")
                break
            }
            guard size >= TraceFormat.recordHeaderSize else {
                damage.append("offset \(at): record size \(size) is smaller than a record header; the rest is skipped")
                break
            }
            let seq = load(at + 8, UInt64.self)
            let time = load(at + 16, UInt64.self)
            guard let kind = EventKind(rawValue: kindRaw) else {
                unknown[kindRaw, default: 0] += 1
                at += size
                continue
            }
            let payload = UnsafeRawBufferPointer(rebasing: bytes[(at + TraceFormat.recordHeaderSize)..<(at + size)])
            do {
                let args = try PayloadCodec.decode(kind, payload)
                events.append(TraceEvent(kind: kind, pid: header.pid, puid: header.puid, seq: seq, time: time, args: args))
            } catch {
                damage.append("offset \(at): \(kind.name) record #\(seq): \(error); skipped")
            }
            at += size
        }
        for (k, n) in unknown.sorted(by: { $0.key < $1.key }) {
            damage.append("\(n) record(s) of unknown kind \(k) (written by a newer Forkline?) skipped")
        }
        self.init(header: header, events: events, damage: damage, interrupted: interrupted, source: source)
    }

    /// Serialises this process's events as a binary trace file (fixtures, tests, tools).
    public func binaryBytes() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: TraceFormat.fileHeaderSize)
        func put<T: FixedWidthInteger>(_ v: T, _ at: Int, _ buf: inout [UInt8]) {
            withUnsafeBytes(of: v.littleEndian) { for (i, b) in $0.enumerated() { buf[at + i] = b } }
        }
        for (i, b) in TraceFormat.magic.enumerated() { out[i] = b }
        put(header.version, 8, &out)
        put(UInt16(TraceFormat.fileHeaderSize), 10, &out)
        put(header.pid, 16, &out)
        put(header.ppid, 20, &out)
        put(header.puid, 24, &out)
        put(header.startTime, 32, &out)
        put(header.realtime, 40, &out)
        put(header.host, 48, &out)
        for e in events {
            let payload = PayloadCodec.encode(e.kind, e.args)
            let size = (TraceFormat.recordHeaderSize + payload.count + 7) & ~7
            var rec = [UInt8](repeating: 0, count: size)
            put(UInt32(size), 0, &rec)
            put(e.kind.rawValue, 4, &rec)
            put(UInt16(truncatingIfNeeded: size / 8), 6, &rec)
            put(e.seq, 8, &rec)
            put(e.time, 16, &rec)
            for (i, b) in payload.enumerated() { rec[TraceFormat.recordHeaderSize + i] = b }
            out += rec
        }
        return out
    }
}

extension TraceFormat {
    /// Follows record headers from `start` as the reader does, without decoding them: returns
    /// where it stopped, and `ended` when the records end there (an empty record, damage, or bytes
    /// that are not a trace) rather than because `bytes` ran out. Lets a loader read a file only
    /// as far as its trace goes.
    package static func walkRecords(_ bytes: UnsafeRawBufferPointer, from start: Int) -> (offset: Int, ended: Bool) {
        func load<T: FixedWidthInteger>(_ at: Int, _: T.Type) -> T { T(littleEndian: bytes.loadUnaligned(fromByteOffset: at, as: T.self)) }
        guard bytes.count >= fileHeaderSize else { return (start, false) }
        guard bytes.prefix(8).elementsEqual(magic) else { return (start, true) }
        var at = max(start, Int(load(10, UInt16.self)))
        let end = bytes.count
        while at + 8 <= end {
            let size = Int(load(at, UInt32.self))
            let span = size != 0 ? size : Int(load(at + 6, UInt16.self)) * 8
            // An empty record (the end), or a size no record has (damage): the records end here.
            guard span >= 8, span % 8 == 0 else { return (at, true) }
            if at + span > end { return (at, false) }
            at += span
        }
        return (at, false)
    }

    /// The bytes the record at `at` spans (8 when its header is not all in `bytes`).
    package static func recordSpan(_ bytes: [UInt8], _ at: Int) -> Int {
        guard at + 8 <= bytes.count else { return 8 }
        let size = Int(UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
        return size != 0 ? size : (Int(bytes[at + 6]) | Int(bytes[at + 7]) << 8) * 8
    }
}
