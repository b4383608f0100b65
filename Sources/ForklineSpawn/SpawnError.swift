#if canImport(Glibc)
import Glibc
#endif

/// The error every ForklineSpawn operation throws: what failed, the system call and errno if
/// any, and a message a user can act on. A child's non-zero exit is not an error: it is an
/// ``ExitStatus``.
public struct SpawnError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let raw: String
        /// `start` was called twice on one handle.
        public static let alreadyStarted = Code(raw: "alreadyStarted")
        /// `join`, `terminate`, `kill` on a handle that was never started.
        public static let notStarted = Code(raw: "notStarted")
        /// A process tried to join itself.
        public static let joinSelf = Code(raw: "joinSelf")
        /// A system call failed (see `syscall` and `errno`).
        public static let systemCallFailed = Code(raw: "systemCallFailed")
        /// The start method cannot run this child (e.g. a closure with spawn).
        public static let unsupported = Code(raw: "unsupported")
        /// The entry point was not registered with `bootstrap(entries:)`.
        public static let unknownEntry = Code(raw: "unknownEntry")
        /// A spawn or forkserver child was started in a program whose `main` never called
        /// `ChildProcess.bootstrap(entries:)`: the child would run `main` itself.
        public static let notBootstrapped = Code(raw: "notBootstrapped")
        /// The forkserver failed or went away.
        public static let forkserverFailed = Code(raw: "forkserverFailed")
        /// Arguments could not be encoded or decoded.
        public static let encoding = Code(raw: "encoding")
        /// The task awaiting `join()` was cancelled (the child runs on; join it again later).
        public static let cancelled = Code(raw: "cancelled")
        public var description: String { raw }
    }

    public var code: Code
    /// The failing system call, if any.
    public var syscall: String?
    /// Its errno, if any.
    public var errno: Int32?
    /// What happened, for a person.
    public var message: String

    init(_ code: Code, _ message: String, syscall: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.syscall = syscall
        self.errno = errno
    }

    static func system(_ call: String, _ err: Int32, _ context: String) -> SpawnError {
        SpawnError(.systemCallFailed, "\(context): \(call) failed: \(String(cString: strerror(err))) (errno \(err))",
                   syscall: call, errno: err)
    }

    public var description: String { message }
}
