#if canImport(Glibc)
import Glibc
#endif

/// Whether a type is ``BinaryCodable``, as the codec's generic entry points ask for every value:
/// the runtime's answer to the cast (`T.self as? any BinaryCodable.Type`, ~285 instructions
/// from its conformance cache, callgrind) kept in a small table per thread (~40 to read).
enum BinaryConformance {
    /// The types asked about most recently on this thread and their answers (16 at most,
    /// the oldest replaced first).
    struct Table {
        var types: [ObjectIdentifier] = []
        var answers: [(any BinaryCodable.Type)?] = []
        var next = 0
    }

    /// `T` as a ``BinaryCodable`` type, or nil when it does not conform.
    static func of<T>(_: T.Type) -> (any BinaryCodable.Type)? {
        let id = ObjectIdentifier(T.self)
        let table = current()
        let n = table.pointee.types.count
        var i = 0
        while i < n {
            if table.pointee.types[i] == id { return table.pointee.answers[i] }
            i += 1
        }
        let answer = T.self as? any BinaryCodable.Type
        if n < 16 {
            table.pointee.types.append(id)
            table.pointee.answers.append(answer)
        } else {
            let k = table.pointee.next
            table.pointee.types[k] = id
            table.pointee.answers[k] = answer
            table.pointee.next = (k + 1) % 16
        }
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
            p.deinitialize(count: 1)
            p.deallocate()
        }
        return k
    }()
}
