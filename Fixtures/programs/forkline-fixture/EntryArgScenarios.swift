// An entry point's arguments in the binary codec (docs/codec.md, "Where it is used"): a spawn or
// forkserver child gets its arguments as a binary payload, so a type that is BinaryCodable
// through its own code (its Codable throws) starts a child, and damaged arguments are a clear
// error in the child. `forkline-fixture codec-entry-* METHOD`.
import FoundationEssentials
import Forkline

enum EntryArgScenarios {
    /// Prints the arguments it got; its argument type refuses its Codable conformance.
    static let show = EntryPoint<BinaryOnlyOrder>("codec-entry-show") { o in
        print("child got \(o.id) \(o.price) \(o.name)")
    }
    static let entries: [any AnyEntryPoint] = [show]

    static func run(_ scenario: String, _ m: StartMethod) throws {
        switch scenario {
        case "codec-entry-binary":
            let c = try ChildProcess(entry: show, arguments: BinaryOnlyOrder(id: 7, price: 2.5, name: "entrée"),
                                     options: ChildOptions(name: "argchild", method: m))
            try c.start()
            print("status \(try c.join(timeout: nil)!)")
        case "codec-entry-bad":
            // Arguments as no encoder writes them: a truncated payload, a payload of another
            // type, bytes that are neither the binary codec nor JSON. Each child must fail with
            // the decoding error, run no body, and be joined.
            let bad: [[UInt8]] = [[0xFB, 0x01, 0x0A, 0x07], try BinaryEncoder().encode("not an order"), [0x00, 0xFF, 0x10]]
            for (i, bytes) in bad.enumerated() {
                let c = ChildProcess(entry: show as any RunnableEntryPoint, encodedArguments: bytes,
                                     options: ChildOptions(name: "bad\(i)", method: m))
                try c.start()
                print("status \(try c.join(timeout: nil)!)")
            }
        default:
            print("unknown codec scenario \(scenario)")
        }
    }
}
