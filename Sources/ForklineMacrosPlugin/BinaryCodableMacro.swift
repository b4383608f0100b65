import SwiftCompilerPlugin
import SwiftDiagnostics
import SwiftSyntax
import SwiftSyntaxBuilder
import SwiftSyntaxMacros

/// `@BinaryCodable`: an extension with `encode(to: inout BinaryWriter)` and
/// `init(from: inout BinaryReader)` over the struct's stored properties, in declaration order,
/// as synthesised `Codable` encodes them (optionals with `fieldIfPresent`).
public struct BinaryCodableMacro: ExtensionMacro {
    struct Property {
        var name: String
        var key: String
        var optional: Bool
        /// A `let` with an initial value: encoded, not decoded (as synthesised Codable does).
        var decoded: Bool
    }

    public static func expansion(
        of node: AttributeSyntax,
        attachedTo declaration: some DeclGroupSyntax,
        providingExtensionsOf type: some TypeSyntaxProtocol,
        conformingTo protocols: [TypeSyntax],
        in context: some MacroExpansionContext
    ) throws -> [ExtensionDeclSyntax] {
        guard let decl = declaration.as(StructDeclSyntax.self) else {
            throw MacroError("@BinaryCodable applies to a struct (a class or enum: write the BinaryCodable conformance by hand)")
        }
        for member in decl.memberBlock.members {
            if let e = member.decl.as(EnumDeclSyntax.self), e.name.text == "CodingKeys" {
                throw MacroError("@BinaryCodable: \(decl.name.text) has its own CodingKeys; write its BinaryCodable conformance by hand with those keys")
            }
            if let f = member.decl.as(FunctionDeclSyntax.self), f.name.text == "encode",
               f.signature.parameterClause.parameters.first?.firstName.text == "to",
               f.signature.parameterClause.parameters.first?.type.trimmedDescription.contains("Encoder") == true {
                throw MacroError("@BinaryCodable: \(decl.name.text) has its own encode(to: Encoder); write its BinaryCodable conformance by hand to match it")
            }
        }
        let properties = try storedProperties(decl)
        let access = decl.modifiers.contains { ["public", "package"].contains($0.name.text) }
            ? decl.modifiers.first { ["public", "package"].contains($0.name.text) }!.name.text + " " : ""
        let encode = try FunctionDeclSyntax("\(raw: access)func encode(to writer: inout ForklineChannels.BinaryWriter) throws") {
            "writer.beginKeyed()"
            for p in properties {
                "try writer.\(raw: p.optional ? "fieldIfPresent" : "field")(\(literal: p.key), self.\(raw: p.name))"
            }
            "writer.endKeyed()"
        }
        let decode = try InitializerDeclSyntax("\(raw: access)init(from reader: inout ForklineChannels.BinaryReader) throws") {
            "var fields = try reader.beginKeyed()"
            for p in properties where p.decoded {
                "self.\(raw: p.name) = try fields.\(raw: p.optional ? "fieldIfPresent" : "field")(\(literal: p.key))"
            }
            "try reader.endKeyed(fields)"
        }
        let ext = try ExtensionDeclSyntax("extension \(type.trimmed): ForklineChannels.BinaryCodable") {
            encode
            decode
        }
        return [ext]
    }

    /// The struct's stored instance properties in declaration order.
    static func storedProperties(_ decl: StructDeclSyntax) throws -> [Property] {
        var out: [Property] = []
        for member in decl.memberBlock.members {
            guard let v = member.decl.as(VariableDeclSyntax.self) else { continue }
            if v.modifiers.contains(where: { ["static", "class", "lazy"].contains($0.name.text) }) { continue }
            let isLet = v.bindingSpecifier.tokenKind == .keyword(.let)
            // In `var a, b: Int?` the type written last is every binding's before it.
            var laterType: TypeSyntax?
            var props: [Property] = []
            for binding in v.bindings.reversed() {
                if let t = binding.typeAnnotation?.type { laterType = t }
                if let accessors = binding.accessorBlock {
                    // Computed (a getter) unless the accessors are only observers.
                    guard case .accessors(let list) = accessors.accessors,
                          list.allSatisfy({ ["willSet", "didSet"].contains($0.accessorSpecifier.text) }) else { continue }
                }
                guard let id = binding.pattern.as(IdentifierPatternSyntax.self) else {
                    throw MacroError("@BinaryCodable: a property pattern it cannot name (\(binding.pattern.trimmedDescription))")
                }
                let name = id.identifier.text
                let key = name.hasPrefix("`") ? String(name.dropFirst().dropLast()) : name
                props.append(Property(name: name, key: key, optional: isOptional(laterType),
                                      decoded: !(isLet && binding.initializer != nil)))
            }
            out += props.reversed()
        }
        return out
    }

    static func isOptional(_ type: TypeSyntax?) -> Bool {
        guard let type else { return false }
        if type.is(OptionalTypeSyntax.self) || type.is(ImplicitlyUnwrappedOptionalTypeSyntax.self) { return true }
        if let id = type.as(IdentifierTypeSyntax.self), id.name.text == "Optional" { return true }
        if let m = type.as(MemberTypeSyntax.self), m.name.text == "Optional", m.baseType.trimmedDescription == "Swift" { return true }
        return false
    }
}

struct MacroError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

@main
struct ForklineMacrosPlugin: CompilerPlugin {
    let providingMacros: [any Macro.Type] = [BinaryCodableMacro.self]
}
