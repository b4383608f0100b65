import FoundationEssentials

extension BinaryDecoder {
    /// Runs what a decode of a `T` does before it reaches `T`'s own code, and no further: the
    /// cast that asks whether `T` is ``BinaryCodable``, the fast-path table, this thread's
    /// decoding state, and a header check that fails (a payload of the magic byte alone). No
    /// `init(from:)` runs. The forkserver does it for each entry point's arguments before it
    /// forks, so its children inherit the answers instead of each making them.
    package static func rehearse<T: Decodable>(_: T.Type) {
        _ = T.self as? any BinaryCodable.Type
        _ = FastType.kind(T.self)
        _ = try? BinaryDecoder().decode(T.self, from: [BinaryFormat.magic])
    }
}
