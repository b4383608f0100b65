import CForkline

#if canImport(Glibc)
import Glibc
#endif

extension Syscall {
    /// The bytes of the regular file at `path` and its permission bits (`st_mode & 0o7777`) and
    /// owner, read through one descriptor (so the mode is the mode of the bytes read). The
    /// corresponding C functions are `open`, `fstat` and `read`.
    package static func readFileWithMode(_ path: String) -> Result<(bytes: [UInt8], mode: UInt32, owner: UInt32), Errno> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return .failure(Errno(errno)) }
        defer { _ = Glibc.close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(Errno(errno)) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return .failure(Errno(EINVAL)) }
        return .success((readToEnd(fd), UInt32(st.st_mode & 0o7777), UInt32(st.st_uid)))
    }

    /// What `fd` is open on, as its device and inode (`fstat`): nil when `fd` is not open. Tells
    /// whether a number still names the same open file (a socket inherited by a child, say).
    package static func fileIdentity(_ fd: Int32) -> (device: UInt64, inode: UInt64)? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino))
    }

    /// Writes `bytes` to a new file at `path` readable and writable by its owner only (mode
    /// 0600, whatever the umask), failing when the file exists (`EEXIST`). The corresponding C
    /// functions are `open(O_CREAT | O_EXCL)`, `fchmod` and `write`.
    package static func writeNewPrivateFile(_ path: String, _ bytes: [UInt8]) -> Errno? {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return Errno(errno) }
        defer { _ = Glibc.close(fd) }
        guard fchmod(fd, 0o600) == 0 else { return Errno(errno) }
        return bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// A new directory only its owner can enter (mode 0700), named from `prefix` and random
    /// characters. The corresponding C function is `mkdtemp`.
    package static func makePrivateDirectory(prefix: String) -> Result<String, Errno> {
        var template = Array((prefix + "XXXXXX").utf8CString)
        let r = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard r != nil else { return .failure(Errno(errno)) }
        return .success(String(cString: template))
    }

    /// Removes a file (`unlink`), or an empty directory (`rmdir`) with `directory`. Errors are
    /// ignored: for cleaning up what this process made.
    package static func remove(_ path: String, directory: Bool = false) {
        _ = directory ? Glibc.rmdir(path) : Glibc.unlink(path)
    }

    /// This program's absolute path (`/proc/self/exe`), for starting it on another host.
    package static func executablePath() -> String? {
        var buf = [CChar](repeating: 0, count: 4096)
        let n = readlink("/proc/self/exe", &buf, buf.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// This machine's host name. The corresponding C function is `gethostname`.
    package static func hostName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        guard gethostname(&buf, buf.count - 1) == 0 else { return "localhost" }
        return String(cString: buf)
    }
}
