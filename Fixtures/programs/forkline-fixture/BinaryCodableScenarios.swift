// BinaryCodable across processes (docs/codec.md, "Code made per type"): a struct whose Codable
// conformance refuses to run goes through a Queue from a child and through a pool both ways, so
// every hop must take its own BinaryCodable code. `forkline-fixture codec-binary-* METHOD`.
import Forkline

/// The 3-field struct, written by its own code; its `Codable` throws.
struct BinaryOnlyOrder: BinaryCodable, Sendable, Equatable {
    struct CodablePathUsed: Error {}
    var id: Int
    var price: Double
    var name: String

    init(id: Int, price: Double, name: String) {
        self.id = id
        self.price = price
        self.name = name
    }
    func encode(to encoder: any Encoder) throws { throw CodablePathUsed() }
    init(from decoder: any Decoder) throws { throw CodablePathUsed() }
    func encode(to writer: inout BinaryWriter) throws {
        writer.beginKeyed()
        try writer.field("id", id)
        try writer.field("price", price)
        try writer.field("name", name)
        writer.endKeyed()
    }
    init(from reader: inout BinaryReader) throws {
        var fields = try reader.beginKeyed()
        id = try fields.field("id")
        price = try fields.field("price")
        name = try fields.field("name")
        try reader.endKeyed(fields)
    }
}

struct BinaryOrderArgs: Codable, Sendable { var orders: Queue<BinaryOnlyOrder>; var count: Int }

enum BinaryCodableScenarios {
    static let producer = EntryPoint<BinaryOrderArgs>("codec-binary-producer") { a in
        for i in 0..<a.count { try a.orders.put(BinaryOnlyOrder(id: i, price: Double(i) / 2, name: "order \(i) é")) }
    }
    static let reprice = PoolFunction<BinaryOnlyOrder, BinaryOnlyOrder>("codec-binary-reprice") { o in
        BinaryOnlyOrder(id: o.id, price: o.price * 2, name: o.name + "!")
    }
    static let entries: [any AnyEntryPoint] = [producer, reprice]

    static func run(_ scenario: String, _ m: StartMethod) async throws {
        switch scenario {
        case "codec-binary-queue": try queue(m)
        case "codec-binary-leak": try BinaryCodableLeak.run()
        case "codec-binary-pool":
            let inputs = (0..<20).map { BinaryOnlyOrder(id: $0, price: Double($0), name: "o\($0)") }
            try await withPool(workers: 2, method: m) { pool in
                let out = try await pool.map(reprice, inputs, chunksize: 3)
                print(out == inputs.map { BinaryOnlyOrder(id: $0.id, price: $0.price * 2, name: $0.name + "!") } ? "pool ok" : "pool wrong")
            }
        default:
            print("unknown codec scenario \(scenario)")
        }
    }

    /// A child puts 100 orders; this process gets them in order.
    static func queue(_ m: StartMethod) throws {
        let orders = try Queue<BinaryOnlyOrder>()
        var o = ChildOptions(name: "producer", method: m)
        o.pass(orders)
        let c = try ChildProcess(entry: producer, arguments: BinaryOrderArgs(orders: orders, count: 100), options: o)
        try c.start()
        var ok = true
        for i in 0..<100 {
            let got = try orders.get(timeout: .seconds(30))
            ok = ok && got == BinaryOnlyOrder(id: i, price: Double(i) / 2, name: "order \(i) é")
        }
        print("status \(try c.join(timeout: nil)!)")
        print(ok ? "queue in order" : "queue wrong")
    }
}
