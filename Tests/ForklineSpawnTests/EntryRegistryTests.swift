@testable import ForklineSpawn
import Synchronization
import Testing

/// Every spawn child and the forkserver run `main` up to `bootstrap(entries:)` again, so
/// registering must cost next to nothing: it stores entries and names, and asks an entry for its
/// companions (a cast to `CompanionEntries`, a scan of every image's conformance records in a
/// fresh process) only when a name is not found among the entries themselves.
@Suite("Registering entry points is lazy")
struct EntryRegistryTests {
    /// Counts how often the table asked an entry for its companions.
    final class Asked: Sendable {
        let count = Atomic<Int>(0)
        var value: Int { count.load(ordering: .relaxed) }
    }

    struct Named: AnyEntryPoint {
        let name: String
        var tag = 0
    }

    struct Bringer: AnyEntryPoint, CompanionEntries {
        let name: String
        let asked: Asked
        var companions: [any AnyEntryPoint] {
            asked.count.add(1, ordering: .relaxed)
            return [Named(name: "\(name)-companion")]
        }
    }

    @Test("registering asks no entry for its companions; the first look-up of a companion does, once")
    func companionsOnDemand() throws {
        let asked = Asked()
        var table = EntryRegistry.Table()
        table.register([Named(name: "plain"), Bringer(name: "pool", asked: asked)], fromBootstrap: true)
        #expect(asked.value == 0)
        #expect(table.find("plain")?.name == "plain")
        #expect(table.find("pool")?.name == "pool")
        #expect(asked.value == 0, "a registered name is found without asking for companions")
        #expect(table.find("pool-companion")?.name == "pool-companion")
        #expect(asked.value == 1)
        #expect(table.find("pool-companion") != nil)
        #expect(table.find("nowhere") == nil)
        #expect(asked.value == 1, "each entry is asked once")
    }

    @Test("a name registered again replaces its entry and stays bootstrapped; the table keeps one item a name")
    func reRegistering() throws {
        var table = EntryRegistry.Table()
        table.register([Named(name: "x", tag: 1)], fromBootstrap: true)
        for tag in 2...50 { table.register([Named(name: "x", tag: tag)], fromBootstrap: false) }
        #expect(table.items.count == 1)
        #expect((table.find("x")?.entry as? Named)?.tag == 50)
        #expect(table.unstartable("x") == nil)
    }

    @Test("spawn and forkserver children: refused before bootstrap, an unlisted name unknown, a listed entry's companions startable")
    func startable() throws {
        let asked = Asked()
        var table = EntryRegistry.Table()
        table.register([Named(name: "early"), Bringer(name: "outside", asked: asked)], fromBootstrap: false)
        #expect(table.unstartable("early") == .notBootstrapped)
        table.register([Bringer(name: "listed", asked: asked)], fromBootstrap: true)
        #expect(table.unstartable("listed") == nil)
        #expect(asked.value == 0)
        #expect(table.unstartable("early") == .unknownEntry, "registered, but not by bootstrap")
        #expect(table.unstartable("listed-companion") == nil)
        #expect(table.unstartable("outside-companion") == .unknownEntry, "brought by an entry bootstrap did not list")
        #expect(table.find("outside-companion") != nil, "but found by a look-up (a fork child runs it)")
        #expect(table.all().count == 5)
    }
}
