import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// The shared secret a ``Listener`` and its ``Client``s prove to each other that they hold:
/// Python's `authkey`.
///
/// A key never appears in a trace, a log or a command line: its description and mirror show its
/// length only, it is not `Codable`, and a program hands it to other processes through an
/// environment variable (``fromEnvironment(_:)``) or a file only its owner can read
/// (``read(from:)``, ``write(to:)``).
public struct AuthKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let bytes: [UInt8]

    /// A key of these bytes.
    /// - Throws: ``ChannelError`` `invalidArgument` for an empty key.
    public init(_ bytes: [UInt8]) throws(ChannelError) {
        guard !bytes.isEmpty else { throw ChannelError(.invalidArgument, "an authentication key cannot be empty") }
        self.bytes = bytes
    }

    /// A fresh random key of `count` bytes (32: as strong as the HMAC-SHA256 that uses it).
    public static func random(count: Int = 32) -> AuthKey {
        var g = SystemRandomNumberGenerator()
        return AuthKey(unchecked: (0..<max(1, count)).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// The key in environment variable `variable` (its UTF-8 bytes); nil when it is unset or empty.
    public static func fromEnvironment(_ variable: String) -> AuthKey? {
        guard let v = getenv(variable), v.pointee != 0 else { return nil }
        return AuthKey(unchecked: Array(String(cString: v).utf8))
    }

    /// The key in the file at `path`: all its bytes, exactly (a newline at the end is part of
    /// the key: every end reading the same file agrees, but `echo secret > FILE` and a variable
    /// holding `secret` do not).
    ///
    /// - Throws: ``ChannelError`` `invalidArgument` when the file can be read or written by its
    ///   group or others (mode must be 0600 or 0400: `chmod 600 FILE`), belongs to another user,
    ///   or is empty; `systemCallFailed` when it cannot be read.
    public static func read(from path: String) throws(ChannelError) -> AuthKey {
        switch Syscall.readFileWithMode(path) {
        case .failure(let e):
            throw ChannelError(.systemCallFailed, "cannot read the key file \(path): \(e)", syscall: "open", errno: e.rawValue)
        case .success(let (bytes, mode, owner)):
            guard mode & 0o077 == 0 else {
                throw ChannelError(.invalidArgument, "the key file \(path) has mode 0\(String(mode, radix: 8)): others can read it; use chmod 600")
            }
            guard owner == geteuid() else {
                throw ChannelError(.invalidArgument, "the key file \(path) belongs to uid \(owner), not to this process's user (uid \(geteuid()))")
            }
            guard !bytes.isEmpty else { throw ChannelError(.invalidArgument, "the key file \(path) is empty") }
            return AuthKey(unchecked: bytes)
        }
    }

    /// Writes the key to a new file at `path` with mode 0600, for workers to ``read(from:)``.
    /// - Throws: ``ChannelError`` `systemCallFailed` (`EEXIST` when the file exists: a key file
    ///   is never overwritten).
    public func write(to path: String) throws(ChannelError) {
        if let e = Syscall.writeNewPrivateFile(path, bytes) {
            throw ChannelError(.systemCallFailed, "cannot write the key file \(path): \(e)", syscall: "open", errno: e.rawValue)
        }
    }

    /// `AuthKey(N bytes)`: never the bytes.
    public var description: String { "AuthKey(\(bytes.count) bytes)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
