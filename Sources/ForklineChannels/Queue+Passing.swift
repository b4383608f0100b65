/// A SimpleQueue travels to a child like a ``Queue``: pass it with ``ChildOptions/pass(_:)`` and
/// put it in the entry point's arguments.
extension SimpleQueue: Codable, PassableToChild {
    /// Encodes the queue for a child's arguments.
    public func encode(to encoder: Encoder) throws { try queue.encode(to: encoder) }

    /// Decodes a queue passed by the parent.
    public convenience init(from decoder: Decoder) throws { self.init(queue: try Queue(from: decoder)) }
}
