#if canImport(Glibc)
import Glibc
#endif

/// Whether a type is ``BinaryCodable``, as the codec's generic entry points ask for every value:
/// the runtime's answer to the cast (`T.self as? any BinaryCodable.Type`, ~285 instructions
/// from its conformance cache, callgrind) kept in a small table per thread.
enum BinaryConformance {
    /// The types asked about most recently on this thread and their answers (16 at most, the
    /// oldest replaced first), in fixed storage: no array (its bounds checks and retains).
    struct Table {
        static var size: Int { 16 }
        let types = UnsafeMutablePointer<ObjectIdentifier?>.allocate(capacity: Table.size)
        let answers = UnsafeMutablePointer<(any BinaryCodable.Type)?>.allocate(capacity: Table.size)
        var count = 0
        var next = 0
        /// The entry that answered last (asked again first).
        var last = 0

        init() {
            types.initialize(repeating: nil, count: Table.size)
            answers.initialize(repeating: nil, count: Table.size)
        }
    }

    /// `T` as a ``BinaryCodable`` type, or nil when it does not conform.
    static func of<T>(_: T.Type) -> (any BinaryCodable.Type)? {
        let id = ObjectIdentifier(T.self)
        let table = current()
        let last = table.pointee.last
        if table.pointee.types[last] == id { return table.pointee.answers[last] }
        let n = table.pointee.count
        var i = 0
        while i < n {
            if table.pointee.types[i] == id {
                table.pointee.last = i
                return table.pointee.answers[i]
            }
            i += 1
        }
        let answer = T.self as? any BinaryCodable.Type
        let k: Int
        if n < Table.size {
            k = n
            table.pointee.count = n + 1
        } else {
            k = table.pointee.next
            table.pointee.next = (k + 1) % Table.size
        }
        table.pointee.types[k] = id
        table.pointee.answers[k] = answer
        table.pointee.last = k
        return answer
    }

    /// This thread's table.
    static func current() -> UnsafeMutablePointer<Table> {
        if let raw = pthread_getspecific(key) { return raw.assumingMemoryBound(to: Table.self) }
        let p = UnsafeMutablePointer<Table>.allocate(capacity: 1)
        p.initialize(to: Table())
        pthread_setspecific(key, p)
        return p
    }

    /// Frees a thread's table when the thread ends.
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { raw in
            guard let p = raw?.assumingMemoryBound(to: Table.self) else { return }
            p.pointee.types.deinitialize(count: Table.size)
            p.pointee.types.deallocate()
            p.pointee.answers.deinitialize(count: Table.size)
            p.pointee.answers.deallocate()
            p.deinitialize(count: 1)
            p.deallocate()
        }
        return k
    }()
}
