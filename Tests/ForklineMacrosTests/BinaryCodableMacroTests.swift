import FoundationEssentials
import ForklineMacros
import ForklineMacrosPlugin
import SwiftSyntaxMacroExpansion
import SwiftSyntaxMacrosGenericTestSupport
import Testing

/// A value whose `Codable` conformance refuses to run: a struct holding it encodes only if the
/// generated code writes the field through `BinaryCodable`.
struct Refuses: BinaryCodable, Equatable, Sendable {
    struct CodablePathUsed: Error {}
    var n: Int
    init(n: Int) { self.n = n }
    func encode(to encoder: any Encoder) throws { throw CodablePathUsed() }
    init(from decoder: any Decoder) throws { throw CodablePathUsed() }
    func encode(to writer: inout BinaryWriter) throws { try writer.write(n) }
    init(from reader: inout BinaryReader) throws { n = try reader.read(Int.self) }
}

@BinaryCodable
struct MacroOrder: Codable, Equatable, Sendable {
    var id: Int
    var price: Double
    var name: String
    var note: String?
    var tags: [String] = []
    let version = 1
    var total: Double { price * 2 }
    static let shared = 0
}

/// `MacroOrder`'s fields, `Codable` only.
struct MacroOrderCodable: Codable, Equatable {
    var id: Int
    var price: Double
    var name: String
    var note: String?
    var tags: [String] = []
    let version = 1
}

@BinaryCodable
struct HoldsRefuses: Codable, Equatable, Sendable {
    var inner: Refuses
    var maybe: Refuses?
}

@BinaryCodable
public struct PublicPoint: Codable, Equatable, Sendable {
    public var x: Int, y: Int?
    public init(x: Int, y: Int?) { self.x = x; self.y = y }
}

/// `@BinaryCodable` (docs/codec.md, "Code made per type"): the generated conformance writes the
/// bytes synthesised `Codable` writes, and reads them back.
@Suite("BinaryCodable macro")
struct BinaryCodableMacroTests {
    @Test("the generated conformance writes the Codable-only peer's bytes and reads them, nil optionals left out")
    func sameBytes() throws {
        for note in [nil, "fragile"] as [String?] {
            let mine = MacroOrder(id: 7, price: 2.5, name: "widget", note: note, tags: ["a"])
            let peer = MacroOrderCodable(id: 7, price: 2.5, name: "widget", note: note, tags: ["a"])
            let bytes = try BinaryEncoder().encode(mine)
            #expect(bytes == (try BinaryEncoder().encode(peer)))
            #expect(try BinaryDecoder().decode(MacroOrderCodable.self, from: bytes) == peer)
            #expect(try BinaryDecoder().decode(MacroOrder.self, from: BinaryEncoder().encode(peer)) == mine)
        }
        let p = PublicPoint(x: 1, y: nil)
        #expect(try BinaryDecoder().decode(PublicPoint.self, from: BinaryEncoder().encode(p)) == p)
    }

    @Test("the generated code writes and reads fields through BinaryCodable, not Codable")
    func fieldsThroughBinaryCodable() throws {
        let v = HoldsRefuses(inner: Refuses(n: 3), maybe: Refuses(n: 4))
        func generic<T: Codable>(_ v: T) throws -> T { try BinaryDecoder().decode(T.self, from: BinaryEncoder().encode(v)) }
        #expect(try generic(v) == v)
        #expect(try generic([v, HoldsRefuses(inner: Refuses(n: 5), maybe: nil)]).count == 2)
    }

    @Test("the expansion is the documented hand-written conformance")
    func expansion() {
        assertMacroExpansion(
            """
            @BinaryCodable
            struct P: Codable {
                var a: Int
                var b: String?
                let c = 1
                var d: Int { a }
            }
            """,
            expandedSource: """
            struct P: Codable {
                var a: Int
                var b: String?
                let c = 1
                var d: Int { a }
            }

            extension P: ForklineChannels.BinaryCodable {
                func encode(to writer: inout ForklineChannels.BinaryWriter) throws {
                    writer.beginKeyed()
                    try writer.field("a", self.a)
                    try writer.fieldIfPresent("b", self.b)
                    try writer.field("c", self.c)
                    writer.endKeyed()
                }
                init(from reader: inout ForklineChannels.BinaryReader) throws {
                    var fields = try reader.beginKeyed()
                    self.a = try fields.field("a")
                    self.b = try fields.fieldIfPresent("b")
                    try reader.endKeyed(fields)
                }
            }
            """,
            macroSpecs: ["BinaryCodable": MacroSpec(type: BinaryCodableMacro.self, conformances: ["BinaryCodable"])],
            failureHandler: { Issue.record(Comment(rawValue: $0.message)) }
        )
    }

    @Test("a struct with its own CodingKeys, or a class, is refused with a diagnostic")
    func refusals() {
        for (source, message) in [
            ("@BinaryCodable\nstruct K: Codable {\n    var a: Int\n    enum CodingKeys: String, CodingKey {\n        case a = \"A\"\n    }\n}",
             "@BinaryCodable: K has its own CodingKeys; write its BinaryCodable conformance by hand with those keys"),
            ("@BinaryCodable\nclass C: Codable {\n    var a = 1\n}",
             "@BinaryCodable applies to a struct (a class or enum: write the BinaryCodable conformance by hand)"),
        ] {
            let expanded = source.replacing("@BinaryCodable\n", with: "")
            assertMacroExpansion(
                source, expandedSource: expanded,
                diagnostics: [DiagnosticSpec(message: message, line: 1, column: 1)],
                macroSpecs: ["BinaryCodable": MacroSpec(type: BinaryCodableMacro.self, conformances: ["BinaryCodable"])],
                failureHandler: { Issue.record(Comment(rawValue: $0.message)) }
            )
        }
    }
}
