import ForklineTrace

/// Where a child's standard input, output or error goes.
public enum StandardIO: Sendable, Hashable {
    /// The parent's descriptor.
    case inherit
    /// `/dev/null`.
    case null
    /// A pipe: the parent reads the child's output (or writes its input) through
    /// ``ChildProcess/standardOutput`` and friends.
    case pipe
    /// A file: opened for reading (stdin) or created/truncated (append: appended) for writing.
    case file(String, append: Bool = false)
}

/// How to start a child.
public struct ChildOptions: Sendable {
    /// The child's name, for `current.name` and the trace (default: "Process-N").
    public var name: String?
    /// Daemon children are terminated (SIGTERM, then SIGKILL) and reaped when their parent exits;
    /// others are joined.
    public var daemon: Bool
    /// The start method (default: ``StartMethod/forkserver``; a closure child needs
    /// ``StartMethod/fork``, which it gets when no method was chosen; a closure given another
    /// method fails to start with `unsupported`).
    public var method: StartMethod {
        get { chosenMethod ?? .forkserver }
        set { chosenMethod = newValue }
    }
    /// The method the caller chose, nil for the default.
    package var chosenMethod: StartMethod?
    /// The child's whole environment; nil inherits the parent's.
    public var environment: [String: String]?
    /// The child's working directory; nil inherits the parent's.
    public var workingDirectory: String?
    public var standardInput: StandardIO
    public var standardOutput: StandardIO
    public var standardError: StandardIO
    /// Descriptors the child receives (all others above 2 are closed in it). A fork child keeps
    /// their numbers; spawn and forkserver children get them renumbered, and look them up with
    /// ``ChildProcess/inheritedDescriptor(_:)`` (a passed ForklineChannels `Connection` does this
    /// itself when it is decoded from the entry point's arguments).
    public var inheritedDescriptors: [Int32]

    /// Creates options; every argument has the default a Python user would expect.
    public init(name: String? = nil, method: StartMethod? = nil, daemon: Bool = false,
                environment: [String: String]? = nil, workingDirectory: String? = nil,
                standardInput: StandardIO = .inherit, standardOutput: StandardIO = .inherit,
                standardError: StandardIO = .inherit, inheritedDescriptors: [Int32] = []) {
        self.name = name
        self.chosenMethod = method
        self.daemon = daemon
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.standardInput = standardInput
        self.standardOutput = standardOutput
        self.standardError = standardError
        self.inheritedDescriptors = inheritedDescriptors
    }
}
