import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// The descriptors a child gets for fds 0, 1, 2, and the parent's ends of any pipes.
struct ChildDescriptors: ~Copyable {
    /// For the child: -1 means inherit.
    var child: [Int32] = [-1, -1, -1]
    /// For the parent: the other end of a `.pipe` slot, or -1.
    var parent: [Int32] = [-1, -1, -1]

    init(_ options: ChildOptions) throws(SpawnError) {
        let slots = [options.standardInput, options.standardOutput, options.standardError]
        do {
            for (i, io) in slots.enumerated() {
                switch io {
                case .inherit: break
                case .null: child[i] = try Sys.open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY, "opening /dev/null for the child")
                case .file(let path, let append):
                    let flags = i == 0 ? O_RDONLY : (O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC))
                    child[i] = try Sys.open(path, flags, "opening the child's \(["stdin", "stdout", "stderr"][i])")
                case .pipe:
                    let (r, w) = try Sys.pipe("creating the child's \(["stdin", "stdout", "stderr"][i]) pipe")
                    if i == 0 { child[i] = r; parent[i] = w } else { child[i] = w; parent[i] = r }
                }
            }
        } catch {
            closeChildEnds()
            for fd in parent { Sys.close(fd) }
            throw error
        }
    }

    /// Closes the parent's copies of the child's ends (after the child has them).
    mutating func closeChildEnds() {
        for i in 0..<3 { Sys.close(child[i]); child[i] = -1 }
    }
}

/// The parent's end of a child's stdout or stderr pipe (or stdin, for writing).
public final class PipeEnd: @unchecked Sendable {
    // @unchecked: `fileDescriptor` is immutable and closed once (`closed` is an atomic flag set
    // by the one `close` that closes it). Two threads reading or writing at once interleave their
    // bytes, as with any file handle: ordering them is the caller's job.
    public let fileDescriptor: Int32
    private let closed = ForkSafeFlag()

    init(_ fd: Int32) { fileDescriptor = fd }

    /// Reads until the child closes its end (EOF).
    public func readAll() -> [UInt8] { Syscall.readToEnd(fileDescriptor) }

    /// Reads until EOF and decodes UTF-8.
    public func readString() -> String { String(decoding: readAll(), as: UTF8.self) }

    /// Writes bytes (stdin pipes).
    public func write(_ bytes: [UInt8]) throws(SpawnError) {
        let err = bytes.withUnsafeBytes { Syscall.writeAll(fileDescriptor, $0)?.rawValue }
        if let err { throw .system("write", err, "writing to the child's stdin") }
    }

    /// Closes this end (a child reading stdin then sees EOF).
    public func close() {
        if closed.set() { Sys.close(fileDescriptor) }
    }

    deinit { close() }
}
