import CForkline
import ForklineSpawn

#if canImport(Glibc)
import Glibc
#endif

/// Anonymous shared memory (`memfd_create`) mapped into this process: the storage of locks and
/// shared values. It has no name in /dev/shm, so nothing can leak: the kernel frees it when the
/// last process holding its descriptor or a mapping of it is gone. Children get it through
/// ``ChildOptions/inheritedDescriptors`` (fork children also share the mapping itself).
final class SharedSegment: @unchecked Sendable {
    // @unchecked: `base` points into a MAP_SHARED mapping whose contents are only reached through
    // process-shared synchronisation (a robust mutex) or atomics by the types that own it.
    let fd: Int32
    let size: Int
    let base: UnsafeMutableRawPointer

    /// Creates a zero-filled segment of `size` bytes, its pages reserved now.
    ///
    /// - Throws: ``ChannelError`` `systemCallFailed` with errno ENOSPC or ENOMEM when the pages
    ///   cannot be had (never a SIGBUS later).
    init(size: Int, name: String) throws(ChannelError) {
        let fd = fl_memfd(name, size)
        guard fd >= 0 else {
            if -fd == ENOSPC || -fd == ENOMEM { throw SharedSegment.noRoom(-fd, bytes: size, for: name) }
            throw ChannelError(.systemCallFailed, "creating \(size) bytes of shared memory: memfd_create failed: \(String(cString: strerror(-fd)))", syscall: "memfd_create", errno: -fd)
        }
        guard let base = SharedSegment.map(fd, size) else {
            let err = errno
            Glibc.close(fd)
            throw ChannelError(.systemCallFailed, "mapping shared memory: mmap failed: \(String(cString: strerror(err)))", syscall: "mmap", errno: err)
        }
        self.fd = fd
        self.size = size
        self.base = base
    }

    /// Maps a segment a parent passed (its descriptor, under this process's number).
    init(inherited fd: Int32, size: Int) throws(ChannelError) {
        var st = stat()
        guard fstat(fd, &st) == 0, Int(st.st_size) >= size, let base = SharedSegment.map(fd, size) else {
            throw ChannelError(.systemCallFailed, "descriptor \(fd) is not the shared memory segment its parent passed")
        }
        self.fd = fd
        self.size = size
        self.base = base
    }

    /// The error for pages that cannot be reserved (`posix_fallocate` failed with `err`, ENOSPC
    /// on a full tmpfs, ENOMEM when memory is short): the segment is not made, rather than made
    /// and then ended with SIGBUS at the first write to a page nothing backs.
    static func noRoom(_ err: Int32, bytes: Int, for what: String) -> ChannelError {
        let name = err == ENOSPC ? "ENOSPC" : err == ENOMEM ? "ENOMEM" : "errno \(err)"
        return ChannelError(.systemCallFailed,
                            "no room for \(bytes) bytes of shared memory (\(what)): posix_fallocate failed with \(name) (\(String(cString: strerror(err))))"
                            + (err == ENOSPC ? "; the tmpfs it lives on is full: free space there, or make it smaller" : ""),
                            syscall: "posix_fallocate", errno: err)
    }

    static func map(_ fd: Int32, _ size: Int) -> UnsafeMutableRawPointer? {
        let p = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)
        return p == MAP_FAILED ? nil : p
    }

    deinit {
        munmap(base, size)
        Glibc.close(fd)
    }

    /// This segment's descriptor under this process's number, from the parent's number.
    static func local(_ parentFD: Int32) throws(ChannelError) -> Int32 {
        guard let fd = ChildProcess.inheritedDescriptor(parentFD) else {
            throw ChannelError(.closed, "shared memory descriptor \(parentFD) was not passed to this process: add it with ChildOptions.pass(_:)")
        }
        return fd
    }
}
