@_exported import ForklineChannels

/// Generates a struct's ``ForklineChannels/BinaryCodable`` conformance: its stored properties,
/// under their names and in their order, as a keyed container, the bytes its synthesised
/// `Codable` writes (docs/codec.md, "Code made per type").
///
/// ```swift
/// import ForklineMacros
///
/// @BinaryCodable
/// struct Order: Codable {
///     var id: Int
///     var price: Double
///     var note: String?   // left out when nil, as synthesised Codable leaves it out
/// }
/// ```
///
/// A property whose type is only `Codable` goes through `Codable` inside the same payload. A
/// struct with its own `CodingKeys` (other keys than its property names) or its own
/// `encode(to: Encoder)` is refused: its `Codable` bytes are not what the macro would write, so
/// write its conformance by hand. Optional properties need their type written (`var note:
/// String?`), as the macro reads the declaration, not the inferred type.
@attached(extension, conformances: BinaryCodable, names: named(encode(to:)), named(init(from:)))
public macro BinaryCodable() = #externalMacro(module: "ForklineMacrosPlugin", type: "BinaryCodableMacro")
