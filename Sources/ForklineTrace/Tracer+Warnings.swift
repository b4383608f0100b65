import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One warning per process tree when tracing fails for lack of room (a full disk, a file size
/// limit, a read-only or missing directory).
///
/// When the trace file system fills up, every process of the run fails in turn: the one whose
/// chunk did not fit, then each child that cannot create its file. Each used to say so, one line
/// per process (39 lines for a pool on a 256 KiB tmpfs). Now the first process of the tree to
/// fail creates `.forkline-warned` in the trace directory with `O_EXCL` (an empty file needs no
/// data blocks, so it can be created on a file system that is full) and says it; the others
/// find it there and say nothing. A root process (one Forkline did not start) removes a marker an
/// earlier run left when it starts tracing, so each run into a directory gets its warning. The
/// loader reads `*.flt` and `*.jsonl` only, so `replay` never sees the marker. Where the marker
/// cannot be created (a read-only directory, one that does not exist), each process still warns
/// once, as before. Two runs tracing into one directory at the same time share one warning.
extension Tracer {
    /// The marker file's name in the trace directory.
    package static let warnedMarker = ".forkline-warned"

    /// This process said a tracing failure already (a fork child inherits it from its parent).
    private static let storageWarned = Atomic<Bool>(false)

    /// Writes `message` to standard error unless this process, or another of its process tree
    /// tracing into `directory`, already reported a tracing failure.
    package static func warnTracingFailure(_ message: String, directory: String?) {
        guard !storageWarned.exchange(true, ordering: .relaxed) else { return }
        if let directory, !firstInTree(directory) { return }
        writeStderr(message + " (said once for the whole process tree: its other processes may be untraced or cut too)\n")
    }

    /// True when this process is the first of its tree to claim the warning in `directory`, or
    /// when that cannot be told (the marker cannot be created for another reason than that it
    /// exists).
    static func firstInTree(_ directory: String) -> Bool {
        let path = directory + "/" + warnedMarker
        let flags: Int32 = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC
        let fd = Glibc.open(path, flags, mode_t(0o644))
        if fd >= 0 {
            Glibc.close(fd)
            return true
        }
        return errno != EEXIST
    }

    /// Called when a root process starts tracing into `directory`: forgets an earlier run's warning.
    static func resetTreeWarning(_ directory: String) {
        Glibc.unlink(directory + "/" + warnedMarker)
    }
}
