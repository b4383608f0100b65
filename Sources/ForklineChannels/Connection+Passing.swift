import ForklineSpawn
import ForklineTrace

/// A connection travels to a child as part of an entry point's arguments: its descriptors go in
/// ``ChildOptions/inheritedDescriptors`` (``ChildOptions/pass(_:)`` does it), and the decoded
/// copy in the child finds them under their new numbers.
///
/// ```swift
/// struct Args: Codable, Sendable { var conn: Connection }
/// var options = ChildOptions(method: .spawn)
/// options.pass(childEnd)
/// let child = try ChildProcess(entry: worker, arguments: Args(conn: childEnd), options: options)
/// ```
extension Connection: Codable {
    enum CodingKeys: String, CodingKey { case channel, read, write, maxMessageSize }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(channel, forKey: .channel)
        try c.encode(readFD, forKey: .read)
        try c.encode(writeFD, forKey: .write)
        try c.encode(maxMessageSize, forKey: .maxMessageSize)
    }

    /// Decodes a connection passed by the parent.
    ///
    /// - Throws: `DecodingError` when its descriptors were not passed to this process.
    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let read = try c.decode(Int32.self, forKey: .read), write = try c.decode(Int32.self, forKey: .write)
        func mapped(_ fd: Int32) throws -> Int32 {
            guard fd >= 0 else { return -1 }
            guard let local = ChildProcess.inheritedDescriptor(fd) else {
                throw DecodingError.dataCorruptedError(forKey: .read, in: c, debugDescription:
                    "connection descriptor \(fd) was not passed to this process: add it with ChildOptions.pass(_:)")
            }
            return local
        }
        self.init(channel: try c.decode(UInt64.self, forKey: .channel), readFD: try mapped(read), writeFD: try mapped(write),
                  maxMessageSize: try c.decode(Int.self, forKey: .maxMessageSize))
    }
}

/// Something a child can be given: its descriptors travel in ``ChildOptions/inheritedDescriptors``.
public protocol PassableToChild {
    /// The descriptors the child needs.
    var fileDescriptors: [Int32] { get }
}

extension Connection: PassableToChild {}
/// A fork child given the listener (``ChildOptions/pass(_:)``) accepts on it with handshakes of
/// its own; one not given it gets `closed` from `accept`.
extension Listener: PassableToChild {
    public var fileDescriptors: [Int32] { [fd] }
}
extension Lock: PassableToChild {}
extension SharedValue: PassableToChild {}

extension ChildOptions {
    /// Passes connections, locks and shared values to the child (their descriptors join
    /// ``inheritedDescriptors``); then put them in the entry point's arguments.
    public mutating func pass(_ items: any PassableToChild...) {
        for item in items { inheritedDescriptors += item.fileDescriptors.filter { !inheritedDescriptors.contains($0) } }
    }
}
