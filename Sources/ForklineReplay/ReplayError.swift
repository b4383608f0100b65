/// A trace that cannot be loaded at all (`replay` exits with status 2 for it).
public struct ReplayError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure, for callers that branch on it.
    public enum Code: Sendable, Hashable {
        /// The path does not exist (or cannot be examined).
        case notFound
        /// A directory with no `*.flt` or `*.jsonl` file in it (an empty directory included).
        case noTraceFiles
        /// Trace files were there, but none could be read.
        case unreadable
        /// One file's content is not a trace (JSON Lines that is not JSON, events before any
        /// process line); in a directory this becomes a load problem of that file.
        case invalidFile
        /// Anything else.
        case other
    }

    /// What kind of failure.
    public var code: Code
    /// The message `replay` prints: names the path and the reason.
    public var message: String

    /// Creates an error.
    public init(_ message: String, code: Code = .other) {
        self.message = message
        self.code = code
    }

    public var description: String { message }
}
