import ForklineSystem
import ForklineTraceFormat

#if canImport(Glibc)
import Glibc
#endif

extension Tracer {
    /// This machine's host name, as `gethostname` gives it (`"localhost"` if it fails).
    ///
    /// Read once per process: a host's processes all see the same name (a process that moves
    /// to another UTS namespace after its first event keeps the name it started with).
    public static var hostName: String { HostInfo.current.name }

    /// This machine's host id (``HostID/of(name:)`` of ``hostName``), recorded in the header of
    /// every trace file written here and folded into every puid made here.
    public static var hostID: UInt64 { HostInfo.current.id }

    /// A new process's puid: this host's tag in the top 16 bits, random bits below.
    package static func makePuid() -> UInt64 { HostID.makePuid(host: hostID) }

    /// `directory` with every `%h` replaced by this host's name.
    package static func expandingHost(_ directory: String) -> String {
        directory.contains("%h") ? directory.replacing("%h", with: hostName) : directory
    }

    /// Writes `<host id>.host`, holding the host name, into the trace directory once (the first
    /// process of a host to open a trace there does it; the rest find it present). `replay`
    /// names a host's lanes from it. Best effort: tracing goes on without it.
    static func writeHostFile(directory: String) {
        let path = "\(directory)/\(hex16(hostID)).\(TraceFormat.hostFileExtension)"
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        let bytes = Array((hostName + "\n").utf8)
        _ = bytes.withUnsafeBytes { Syscall.writeAll(fd, $0) }
        Glibc.close(fd)
    }
}

/// The host name and id, read once.
enum HostInfo {
    static let current: (name: String, id: UInt64) = {
        var buf = [CChar](repeating: 0, count: 256)
        let name = gethostname(&buf, buf.count - 1) == 0
            ? String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "localhost"
        return (name, HostID.of(name: name))
    }()
}
