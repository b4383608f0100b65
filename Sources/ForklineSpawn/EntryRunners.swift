import ForklineSystem

/// How each `EntryPoint` type that this process created runs an entry given as an
/// `any AnyEntryPoint`, found by the entry's type.
///
/// A child otherwise casts the entry it runs to ``RunnableEntryPoint``, and a type's first cast
/// to a protocol scans every loaded image's conformance records (~160k instructions of a spawn
/// child, callgrind). `EntryPoint.init` runs in generic code that knows its type, so it notes
/// the type here (a lock and a look through a few items); the child's entry was created by
/// `main` on its way to `bootstrap`, so its type is here, and running it is a comparison of
/// types and a cast to the concrete type. Entries of other types (pool functions) are cast.
enum EntryRunners {
    typealias Runner = @Sendable (any AnyEntryPoint, [UInt8]) throws -> Void

    struct Item: Sendable {
        var type: ObjectIdentifier
        var run: Runner
    }

    /// One item a type, in the order the types were first created: as many as the program has
    /// `EntryPoint` types. A lock of its own, not the registry's: the registry creates entry
    /// points (a pool function's companions) while it holds its lock.
    static let items = ForkSafeLock<[Item]>([])

    static func note<Arguments>(_ type: EntryPoint<Arguments>.Type) {
        let id = ObjectIdentifier(type)
        items.withLock { items in
            if !items.contains(where: { $0.type == id }) { items.append(Item(type: id, run: { try type.run($0, $1) })) }
        }
    }

    /// What runs entries of `type`, if an `EntryPoint` of that type was created here.
    static func runner(for type: any AnyEntryPoint.Type) -> Runner? {
        let id = ObjectIdentifier(type)
        return items.withLock { items in items.first { $0.type == id }?.run }
    }
}
