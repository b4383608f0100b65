/// The simplest shared queue: unbounded (but for its ring), `put`, `get`, `isEmpty`, `close`:
/// Python's `multiprocessing.SimpleQueue`.
public final class SimpleQueue<T: Codable & Sendable>: @unchecked Sendable {
    // @unchecked: a wrapper over a Queue, itself Sendable.
    @usableFromInline let queue: Queue<T>

    /// Creates a queue whose ring holds `capacity` bytes of items.
    public init(capacity: Int = 4 << 20) throws(ChannelError) { queue = try Queue(capacity: capacity) }

    init(queue: Queue<T>) { self.queue = queue }

    /// The queue's id in traces.
    public var id: UInt64 { queue.id }

    /// Puts an item (waiting only if the ring's bytes are used up).
    @available(*, noasync, message: "blocking; use the async put")
    @inlinable
    public func put(_ item: T) throws(ChannelError) { try queue.put(item) }

    /// Gets the oldest item, waiting for one.
    @available(*, noasync, message: "blocking; use the async get")
    @inlinable
    public func get() throws(ChannelError) -> T { try queue.get() }

    /// Puts an item without blocking a thread.
    public func put(_ item: T) async throws(ChannelError) { try await queue.put(item) }

    /// Gets the oldest item without blocking a thread.
    public func get() async throws(ChannelError) -> T { try await queue.get() }

    /// True when the queue holds no item now.
    public var isEmpty: Bool { queue.isEmpty }

    /// Closes this process's handle.
    public func close() { queue.close() }

    /// The descriptors a child needs (``ChildOptions/pass(_:)``).
    public var fileDescriptors: [Int32] { queue.fileDescriptors }
}

/// A SimpleQueue travels to a child like a ``Queue``: pass it with ``ChildOptions/pass(_:)`` and
/// put it in the entry point's arguments.
extension SimpleQueue: Codable, PassableToChild {
    /// Encodes the queue for a child's arguments.
    public func encode(to encoder: Encoder) throws { try queue.encode(to: encoder) }

    /// Decodes a queue passed by the parent.
    public convenience init(from decoder: Decoder) throws { self.init(queue: try Queue(from: decoder)) }
}
