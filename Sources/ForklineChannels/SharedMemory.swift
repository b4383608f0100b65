import CForkline
import ForklineTrace
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// A named shared memory segment that any process can attach to by name: Python's
/// `multiprocessing.shared_memory.SharedMemory`.
///
/// The segment is a file in /dev/shm. Each process attached to it holds a shared `flock` on it,
/// which the kernel drops when the process ends, however it ends; ``close()`` (or the last
/// reference going away) unmaps it and, when no other process holds it any more, removes the
/// name: the last user cleans up, and nothing is left in /dev/shm. Only when the last user is
/// SIGKILLed does the name stay (call ``unlink()`` or remove it by hand).
///
/// ```swift
/// let block = try SharedMemory(size: 4096)          // a fresh name, created
/// // another process: let same = try SharedMemory(name: block.name)
/// block.bytes[0] = 42
/// ```
///
/// A SharedMemory is Codable: it travels to a child as its name, and the child attaches.
public final class SharedMemory: @unchecked Sendable {
    // @unchecked: `bytes` is memory other processes change; synchronising access to it is the
    // caller's job (a Lock, a Queue), as with Python's SharedMemory. The handle's own state is
    // behind `closed`.
    /// The segment's name (without the leading slash), for other processes to attach.
    public let name: String
    /// The segment's size in bytes.
    public let size: Int
    /// The mapped bytes.
    public let bytes: UnsafeMutableRawBufferPointer
    let fd: Int32
    let closed = ForkSafeLock(false)

    /// Creates a new segment (`create`: true) or attaches to an existing one.
    ///
    /// - Parameters:
    ///   - name: the segment's name; nil makes a fresh unique one (with `create`).
    ///   - size: the size to create; when attaching, 0 takes the segment's whole size.
    ///   - create: true to create (failing if the name exists), false to attach.
    /// The pages are reserved when the segment is created or attached, so a full /dev/shm is an
    /// error here (`systemCallFailed`, errno ENOSPC, the name removed again when this call made
    /// it), never a SIGBUS at a later write.
    ///
    /// - Throws: ``ChannelError``: `invalidArgument` (a name with '/', empty or too long; a new
    ///   segment of size 0 or less), `segmentExists`, `noSuchSegment`, `systemCallFailed`.
    public init(name: String? = nil, size: Int = 0, create: Bool = true) throws(ChannelError) {
        let name = name ?? "forkline-\(getpid())-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        guard !name.isEmpty, !name.contains("/"), name.utf8.count < 250 else {
            throw ChannelError(.invalidArgument, "'\(name)' is not a valid shared memory name (no '/', 1-249 bytes)")
        }
        guard !create || size > 0 else { throw ChannelError(.invalidArgument, "a new shared memory segment needs a size > 0 (got \(size))") }
        let path = "/" + name
        let fd = shm_open(path, create ? (O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC) : (O_RDWR | O_CLOEXEC), 0o600)
        guard fd >= 0 else {
            let e = errno
            switch e {
            case EEXIST: throw ChannelError(.segmentExists, "shared memory '\(name)' exists already", syscall: "shm_open", errno: e)
            case ENOENT: throw ChannelError(.noSuchSegment, "no shared memory named '\(name)'", syscall: "shm_open", errno: e)
            default: throw ChannelError(.systemCallFailed, "opening shared memory '\(name)': \(String(cString: strerror(e)))", syscall: "shm_open", errno: e)
            }
        }
        // The shared lock marks this process as a user until it closes or dies. Without it the
        // last closer could remove a segment this process still uses: refuse rather than risk it.
        if flock(fd, LOCK_SH) != 0 {
            let e = errno
            Glibc.close(fd)
            if create { shm_unlink(path) }
            throw ChannelError(.systemCallFailed, "marking shared memory '\(name)' as in use: \(String(cString: strerror(e)))", syscall: "flock", errno: e)
        }
        var length = size
        if create {
            if ftruncate(fd, off_t(size)) != 0 {
                let e = errno
                Glibc.close(fd)
                shm_unlink(path)
                throw ChannelError(.systemCallFailed, "sizing shared memory '\(name)': \(String(cString: strerror(e)))", syscall: "ftruncate", errno: e)
            }
        } else {
            var st = stat()
            if fstat(fd, &st) != 0 {
                let e = errno
                Glibc.close(fd)
                throw ChannelError(.systemCallFailed, "reading the size of shared memory '\(name)': \(String(cString: strerror(e)))", syscall: "fstat", errno: e)
            }
            if length == 0 || length > Int(st.st_size) { length = Int(st.st_size) }
        }
        // Reserve every page now (ftruncate alone makes a sparse file: on a full /dev/shm the
        // first write to a page it cannot back is a SIGBUS). Attaching reserves too, since the
        // creator may be a program that did not.
        let reserved = length > 0 ? -fl_reserve(fd, length) : 0
        if reserved != 0 {
            Glibc.close(fd)
            if create { shm_unlink(path) }
            throw SharedSegment.noRoom(reserved, bytes: length, for: "'\(name)' in /dev/shm")
        }
        guard length > 0, let p = SharedSegment.map(fd, length) else {
            let e = errno
            Glibc.close(fd)
            throw ChannelError(.systemCallFailed, "mapping shared memory '\(name)' (\(length) bytes): \(String(cString: strerror(e)))", syscall: "mmap", errno: e)
        }
        self.name = name
        self.size = length
        self.fd = fd
        bytes = UnsafeMutableRawBufferPointer(start: p, count: length)
    }

    deinit { close() }

    /// Detaches this process: unmaps the segment and, when no other process is attached any
    /// more, removes its name. Further use of ``bytes`` is a bug.
    public func close() {
        guard closed.withLock({ c in defer { c = true }; return !c }) else { return }
        munmap(bytes.baseAddress, bytes.count)
        // Turning our shared lock exclusive succeeds only if no other process holds one.
        if flock(fd, LOCK_EX | LOCK_NB) == 0 { shm_unlink("/" + name) }
        Glibc.close(fd)
    }

    /// Removes the name now (Python's `unlink`): processes attached keep their mapping, no new
    /// process can attach.
    public func unlink() { shm_unlink("/" + name) }
}

extension SharedMemory: Codable {
    enum CodingKeys: String, CodingKey { case name, size }

    /// Encodes the segment's name and size.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(size, forKey: .size)
    }

    /// Attaches to the segment by its name.
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        try self.init(name: try c.decode(String.self, forKey: .name), size: try c.decode(Int.self, forKey: .size), create: false)
    }
}
