import ForklineCodec
import ForklineSystem
import ForklineTrace

/// The entry points this program registered.
///
/// Registering costs next to nothing an entry: every spawn child and the forkserver run the
/// program's `main` up to `bootstrap(entries:)` again, so what registration does, each of them
/// does. It stores the entry and its name, nothing more: no cast to a protocol (a type's first
/// cast to each protocol scans every loaded image's conformance records, ~80k instructions and
/// a few page faults in a fresh process), no `Dictionary` or `Set` of names (their storage's
/// first use looks up `String: Hashable` the same way, and seeds the hasher). The per-entry work
/// is done when it is needed: a name not found among the entries themselves makes the table ask
/// the entries for their companions (``CompanionEntries``, the pool's worker loop that a pool
/// function brings), once; the child that runs an entry casts that one to a runnable entry.
/// Before this, `bootstrap` of forkline-bench's six entries was ~1.3 M instructions of a spawn
/// child's start-up (callgrind of `forkline-bench --noop-registered` beside `--noop`).
enum EntryRegistry {
    /// The table itself, a value: `EntryRegistry` keeps one under a lock.
    struct Table {
        struct Item {
            var name: String
            var entry: any AnyEntryPoint
            /// Registered by `bootstrap` (or brought by an entry it registered): a spawn or
            /// forkserver child, which runs `main` again, knows it.
            var fromBootstrap: Bool
            /// Its companions were asked for (or it is a companion: those bring none).
            var expanded: Bool
        }

        /// In registration order; a name appears once (registering it again replaces the entry).
        var items: [Item] = []
        /// Whether `bootstrap` ran in this program.
        var bootstrapped = false

        /// Registers `list` (and, when they are first needed, their companions).
        mutating func register(_ list: [any AnyEntryPoint], fromBootstrap: Bool) {
            if fromBootstrap { bootstrapped = true }
            for e in list { put(Item(name: e.name, entry: e, fromBootstrap: fromBootstrap, expanded: false)) }
        }

        /// Adds `item`, or replaces the entry of its name (once bootstrapped, still bootstrapped).
        mutating func put(_ item: Item) {
            guard let i = index(of: item.name) else { return items.append(item) }
            let was = items[i].fromBootstrap
            items[i] = item
            items[i].fromBootstrap = was || item.fromBootstrap
        }

        func index(of name: String) -> Int? { items.firstIndex { $0.name == name } }

        /// Adds the companions of every entry not asked yet. Returns whether any entry was asked.
        @discardableResult
        mutating func expand() -> Bool {
            var asked = false
            var i = 0
            while i < items.count {
                if !items[i].expanded {
                    items[i].expanded = true
                    asked = true
                    let from = items[i].fromBootstrap
                    for c in (items[i].entry as? CompanionEntries)?.companions ?? [] {
                        // A companion registered as an entry of its own keeps that entry.
                        if let j = index(of: c.name) {
                            if from { items[j].fromBootstrap = true }
                        } else {
                            items.append(Item(name: c.name, entry: c, fromBootstrap: from, expanded: true))
                        }
                    }
                }
                i += 1
            }
            return asked
        }

        /// The item called `name`, asking for companions only when no entry has that name.
        mutating func find(_ name: String) -> Item? {
            if let i = index(of: name) { return items[i] }
            guard expand(), let i = index(of: name) else { return nil }
            return items[i]
        }

        /// Every entry with its companions.
        mutating func all() -> [any AnyEntryPoint] {
            expand()
            return items.map { $0.entry }
        }

        enum Refusal { case notBootstrapped, unknownEntry }

        /// Why a spawn or forkserver child could not run `name`, or nil when it can.
        mutating func unstartable(_ name: String) -> Refusal? {
            guard bootstrapped else { return .notBootstrapped }
            if let i = index(of: name), items[i].fromBootstrap { return nil }
            expand()
            if let i = index(of: name), items[i].fromBootstrap { return nil }
            return .unknownEntry
        }
    }

    static let table = ForkSafeLock(Table())

    static func register(_ list: [any AnyEntryPoint], fromBootstrap: Bool = false) {
        table.withLock { $0.register(list, fromBootstrap: fromBootstrap) }
    }

    static func lookup(_ name: String) -> (any AnyEntryPoint)? { table.withLock { $0.find(name)?.entry } }

    /// Asks the runtime, once, whether each registered entry point is runnable (the cast its
    /// child makes first). In the forkserver: the answer is cached in memory its children share,
    /// where each child otherwise scanned the binary's conformance records itself (~13 page
    /// faults a child, perf -e page-faults), rehearses each `EntryPoint`'s argument decoding
    /// up to its own code (``EntryPoint/rehearseDecoding()``), and round-trips a struct of the
    /// server's own through the binary codec, so that the decoder's shared paths exist before
    /// the first fork. No user code runs.
    static func prepareForChildren() {
        let all = table.withLock { $0.all() }
        for e in all {
            _ = e as? any RunnableEntryPoint
            (e as? any DecodingRehearsal)?.rehearseDecoding()
        }
        struct Probe: Codable { var a: Int; var b: String; var c: [UInt8]; var d: Double?; var e: [Int] }
        let probe = try? BinaryEncoder().encode(Probe(a: 1, b: "b", c: [1], d: 0.5, e: [2]))
        _ = probe.flatMap { try? BinaryDecoder().decode(Probe.self, from: $0) }
    }

    /// Throws unless a spawn or forkserver child can find `entry`: `bootstrap` ran in this
    /// program and registered it. Checked in the parent, before any process starts, because a
    /// child of a program without `bootstrap` runs the program's `main` instead (seen: a pool
    /// that waited forever on a forkserver that had run `main` and exited).
    static func checkStartable(_ entry: String, child: String, method: StartMethod) throws(SpawnError) {
        switch table.withLock({ $0.unstartable(entry) }) {
        case nil: return
        case .notBootstrapped:
            throw SpawnError(.notBootstrapped, "\(child): the \(method) start method re-runs this program, which never called ChildProcess.bootstrap(entries:); call it first in main, listing every entry point and pool function children run (or use the fork method)")
        case .unknownEntry:
            throw SpawnError(.unknownEntry, "\(child): the entry point '\(entry)' is not registered: list it in ChildProcess.bootstrap(entries:) at the top of main")
        }
    }
}
