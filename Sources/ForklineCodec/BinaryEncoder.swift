import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// Encodes `Encodable` values in Forkline's compact, versioned binary format (docs/codec.md),
/// the form Connection and Queue messages and pool inputs and outputs travel in.
///
/// `[UInt8]`, `Data` and `String` are written as their bytes, and arrays of fixed-size numbers
/// (`[Int]`, `[Double]`, `[Float]`, `[Int32]`, ...) as their memory image, never element by
/// element; structs and enums keep their keys, so a decoder finds fields in any order.
///
/// ```swift
/// let bytes = try BinaryEncoder().encode(["a": [1, 2, 3]])
/// let back = try BinaryDecoder().decode([String: [Int]].self, from: bytes)
/// ```
public struct BinaryEncoder: Sendable {
    /// Creates an encoder.
    public init() {}

    /// The binary payload of `value`: magic, version, value.
    ///
    /// - Throws: `EncodingError` when the value's `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        try Self.withPayload(value, message: false) { bytes, _ in Array(bytes) }
    }

    /// Calls `body` with the binary payload of `value`, lent from this thread's reused buffer
    /// (valid during the call only), and whether it is instead the JSON of a ``JSONCoded``
    /// message (`message` true: a Connection or queue message, whose whole frame is that JSON).
    ///
    /// - Throws: what the value's `encode(to:)` throws.
    @usableFromInline
    package static func withPayload<T: Encodable, R>(_ value: T, message: Bool, _ body: (UnsafeRawBufferPointer, _ json: Bool) throws -> R) throws -> R {
        // A `BinaryCodable` type writes itself (one dynamic cast a value).
        if let type = BinaryConformance.of(T.self) { return try withBinaryPayload(value, as: type) { try body($0, false) } }
        let s = LinearEncoding.take()
        defer { s.give() }
        s.p.pointee.message = message
        s.append(BinaryFormat.magic)
        s.append(BinaryFormat.version)
        try s.value(value, key: nil)
        _ = s.reach(0)
        if let json = s.p.pointee.json { return try json.withUnsafeBytes { try body($0, true) } }
        if s.outOfOrder {
            // The value wrote to a container after writing to its parent again: the one buffer
            // cannot place that, so the value is encoded again by the general encoder.
            let tree = try TreeEncoder.encode(value)
            return try tree.withUnsafeBytes { try body($0, false) }
        }
        return try body(UnsafeRawBufferPointer(start: s.p.pointee.base, count: s.p.pointee.count), false)
    }
}

/// A buffer and the writers of the format's scalars (shared by both encoders). The writers are
/// inlinable, so a ``BinaryCodable`` type's `encode(to:)` has them inlined in its own module.
@usableFromInline
protocol ByteWriter {
    /// Lets `body` write at most `n` bytes at the end of the buffer; it returns how many it wrote.
    func emit(max n: Int, _ body: (UnsafeMutableRawPointer) -> Int)
}

extension ByteWriter {
    @inlinable
    func append(_ b: UInt8) {
        emit(max: 1) { p in
            p.storeBytes(of: b, as: UInt8.self)
            return 1
        }
    }
    /// Writes `v` as LEB128 at `p` (at most 10 bytes); returns the byte count.
    @inlinable @inline(__always)
    static func varint(_ p: UnsafeMutableRawPointer, _ v: UInt64) -> Int {
        var v = v, n = 0
        while v >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: n, as: UInt8.self)
            v >>= 7
            n += 1
        }
        p.storeBytes(of: UInt8(v), toByteOffset: n, as: UInt8.self)
        return n + 1
    }
    @inlinable
    func tagged(_ tag: UInt8, varint v: UInt64) {
        emit(max: 11) { p in
            p.storeBytes(of: tag, as: UInt8.self)
            return 1 + Self.varint(p + 1, v)
        }
    }
    @inlinable
    func int(_ v: Int64) { tagged(BinaryFormat.int, varint: UInt64(bitPattern: (v << 1) ^ (v >> 63))) }
    @inlinable
    func uint(_ v: UInt64) { tagged(BinaryFormat.uint, varint: v) }
    @inlinable
    func raw(_ tag: UInt8, _ b: UnsafeRawBufferPointer) {
        emit(max: 11 + b.count) { p in
            p.storeBytes(of: tag, as: UInt8.self)
            let n = 1 + Self.varint(p + 1, UInt64(b.count))
            if b.count > 0 { (p + n).copyMemory(from: b.baseAddress!, byteCount: b.count) }
            return n + b.count
        }
    }
    @inlinable
    func string(_ s: String) {
        // A native or small String's UTF-8 is contiguous: written from where it is, no copy of
        // the String (its retain and release).
        if s.utf8.withContiguousStorageIfAvailable({ raw(BinaryFormat.string, UnsafeRawBufferPointer($0)) }) != nil { return }
        var s = s
        s.withUTF8 { raw(BinaryFormat.string, UnsafeRawBufferPointer($0)) }
    }
    @inlinable
    func double(_ v: Double) {
        emit(max: 9) { p in
            p.storeBytes(of: BinaryFormat.double, as: UInt8.self)
            p.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 1, as: UInt64.self)
            return 9
        }
    }
    @inlinable
    func float(_ v: Float) {
        emit(max: 5) { p in
            p.storeBytes(of: BinaryFormat.float, as: UInt8.self)
            p.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: 1, as: UInt32.self)
            return 5
        }
    }
    @inlinable
    func bool(_ v: Bool) { append(v ? BinaryFormat.trueTag : BinaryFormat.falseTag) }

    /// Writes `v` if it is of a type written as its bytes (`String`, `Int`, `Double`, `[UInt8]`,
    /// `Data`, arrays of numbers); false for any other type.
    func fastValue<T: Encodable>(_ v: T) -> Bool {
        guard let kind = FastType.kind(T.self) else { return false }
        switch kind {
        case FastType.string: string(unsafeBitCast(v, to: String.self))
        case FastType.int: int(Int64(unsafeBitCast(v, to: Int.self)))
        case FastType.double: double(unsafeBitCast(v, to: Double.self))
        case FastType.bytes: unsafeBitCast(v, to: [UInt8].self).withUnsafeBytes { raw(BinaryFormat.bytes, $0) }
        case FastType.data: (v as! Data).withUnsafeBytes { raw(BinaryFormat.bytes, $0) }
        default:
            let code = kind - FastType.numbers + 1
            NumberArray.withImage(v) { image in
                emit(max: 12 + image.count) { p in
                    p.storeBytes(of: BinaryFormat.numbers, as: UInt8.self)
                    p.storeBytes(of: code, toByteOffset: 1, as: UInt8.self)
                    let n = 2 + Self.varint(p + 2, UInt64(image.count / NumberArray.size(code)!))
                    if image.count > 0 { (p + n).copyMemory(from: image.baseAddress!, byteCount: image.count) }
                    return n + image.count
                }
            }
        }
        return true
    }
}

/// The types both directions read and write as bytes, told apart by one scan of their type
/// identifiers (not sixteen metadata look-ups a value, as `T.self == X.self` tests cost in
/// unspecialized code).
enum FastType {
    static let string: UInt8 = 0, int: UInt8 = 1, double: UInt8 = 2, bytes: UInt8 = 3, data: UInt8 = 4
    /// `numbers + code - 1` for the `NumberArray` element code `code` (1...11).
    static let numbers: UInt8 = 5
    static let ids: [ObjectIdentifier] = [
        ObjectIdentifier(String.self), ObjectIdentifier(Int.self), ObjectIdentifier(Double.self),
        ObjectIdentifier([UInt8].self), ObjectIdentifier(Data.self),
        // NumberArray's element codes 1...11, in order.
        ObjectIdentifier([Int].self), ObjectIdentifier([Double].self), ObjectIdentifier([Float].self),
        ObjectIdentifier([Int64].self), ObjectIdentifier([UInt64].self), ObjectIdentifier([Int32].self),
        ObjectIdentifier([UInt32].self), ObjectIdentifier([Int16].self), ObjectIdentifier([UInt16].self),
        ObjectIdentifier([Int8].self), ObjectIdentifier([UInt].self),
    ]

    /// The kind of `T`, or nil when `T` is encoded by its own `encode(to:)`.
    @inline(__always)
    static func kind<T>(_: T.Type) -> UInt8? {
        // Each of these types is 8 or 16 bytes (a String, Data, an Int or Double, an array):
        // any other size needs no scan.
        let size = MemoryLayout<T>.size
        guard size == 8 || size == 16 else { return nil }
        let id = ObjectIdentifier(T.self)
        return ids.withUnsafeBufferPointer { ids in
            for i in 0..<ids.count where ids[i] == id { return UInt8(i) }
            return nil
        }
    }
}

/// One encode into one buffer (the usual path): containers are written where they are opened,
/// in the order Codable fills them, with no box, child buffer or splice a container; the buffer
/// is this thread's, reused from one encode to the next.
///
/// A container is open from its opening until its parent (or an ancestor) is written to again,
/// which closes it (its `end` tag). Open containers form a stack; `top` takes the writes. A slot
/// (the place of one value: what an `Encoder` writes into) is a stack entry without a tag that
/// becomes `{}` if it is closed empty, as a value that encodes nothing is. A write to a closed
/// container sets `outOfOrder`, and the value is encoded again by ``TreeEncoder``.
///
/// `LinearEncoding` is a handle on this thread's ``EncodingState``, reached through a pointer
/// rather than a class so that a write costs no reference counting and no dynamic exclusivity
/// check (measured: those were a quarter of an encode's instructions). Like any Codable
/// encoder's containers, the ones made from it are valid during its encode.
@usableFromInline
struct LinearEncoding: ByteWriter {
    @usableFromInline let p: UnsafeMutablePointer<EncodingState>

    @usableFromInline init(p: UnsafeMutablePointer<EncodingState>) { self.p = p }

    @inlinable @inline(__always)
    func emit(max n: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        if p.pointee.count + n > p.pointee.capacity { p.pointee.grow(p.pointee.count + n) }
        p.pointee.count += body(p.pointee.base + p.pointee.count)
    }

    typealias Open = EncodingState.Open

    /// Writes `tag`, the length and the bytes `b` (``ByteWriter``'s, written here without a
    /// closure: a key or a short String is most of what a struct writes).
    @inlinable @inline(__always)
    func raw(_ tag: UInt8, _ b: UnsafeRawBufferPointer) {
        let n = b.count
        if p.pointee.count + 11 + n > p.pointee.capacity { p.pointee.grow(p.pointee.count + 11 + n) }
        let d = p.pointee.base + p.pointee.count
        d.storeBytes(of: tag, as: UInt8.self)
        var h = 2
        if n < 0x80 { d.storeBytes(of: UInt8(truncatingIfNeeded: n), toByteOffset: 1, as: UInt8.self) } else { h = 1 + Self.varint(d + 1, UInt64(n)) }
        if n > 0 { (d + h).copyMemory(from: b.baseAddress!, byteCount: n) }
        p.pointee.count += h + n
    }

    /// Writes `s` as a String value (``ByteWriter``'s, with ``raw(_:_:)`` above).
    @inlinable @inline(__always)
    func string(_ s: String) {
        if s.utf8.withContiguousStorageIfAvailable({ raw(BinaryFormat.string, UnsafeRawBufferPointer($0)) }) != nil { return }
        var s = s
        s.withUTF8 { raw(BinaryFormat.string, UnsafeRawBufferPointer($0)) }
    }

    /// This thread's free state (an encode inside an encode takes the next one).
    static func take() -> LinearEncoding {
        var link = pthread_getspecific(EncodingState.key)?.assumingMemoryBound(to: EncodingState.self)
        if link == nil {
            link = EncodingState.make()
            pthread_setspecific(EncodingState.key, link)
        }
        var s = link!
        while s.pointee.inUse {
            if s.pointee.next == nil { s.pointee.next = EncodingState.make() }
            s = s.pointee.next!
        }
        s.pointee.inUse = true
        return LinearEncoding(p: s)
    }

    /// Ends an encode: the state is reset, keeping the buffer's capacity unless it grew past 1 MiB.
    func give() {
        p.pointee.count = 0
        if p.pointee.capacity > 1 << 20 { p.pointee.shrink() }
        if !p.pointee.open.isEmpty { p.pointee.open.removeAll(keepingCapacity: p.pointee.open.capacity <= 256) }
        p.pointee.top = Open(id: 0, mark: -1, key: nil)
        p.pointee.nextID = 1
        p.pointee.outOfOrder = false
        p.pointee.message = false
        p.pointee.json = nil
        p.pointee.inUse = false
    }

    var top: Open { p.pointee.top }
    var count: Int { p.pointee.count }
    var outOfOrder: Bool { p.pointee.outOfOrder }

    /// Makes container `id` the one writes go to, closing those opened after it; false (and
    /// `outOfOrder`) when it is already closed.
    @inline(__always)
    func reach(_ id: Int) -> Bool {
        p.pointee.top.id == id || reachBelow(id)
    }

    @inline(never)
    func reachBelow(_ id: Int) -> Bool {
        guard let i = p.pointee.open.lastIndex(where: { $0.id == id }) else {
            p.pointee.outOfOrder = true
            return false
        }
        close(p.pointee.top)
        while p.pointee.open.count > i + 1 { close(p.pointee.open.removeLast()) }
        p.pointee.top = p.pointee.open.removeLast()
        return true
    }

    func close(_ o: Open) {
        if o.mark < 0 {
            append(BinaryFormat.end)
        } else if p.pointee.count == o.mark {
            // A value that encoded nothing: an empty keyed container, as JSONEncoder writes `{}`.
            append(BinaryFormat.object)
            append(BinaryFormat.end)
        }
    }

    /// Opens a container with `tag` (a slot when nil) in the top container; returns its id.
    func push(_ tag: UInt8?, key: (any CodingKey)?) -> Int {
        let id = p.pointee.nextID
        p.pointee.nextID += 1
        p.pointee.open.append(p.pointee.top)
        if let tag {
            p.pointee.top = Open(id: id, mark: -2 - p.pointee.count, key: key)
            append(tag)
        } else {
            p.pointee.top = Open(id: id, mark: p.pointee.count, key: key)
        }
        return id
    }

    /// Makes slot `slot` the top before its value is written; a slot written twice, or after
    /// its parent moved on, is out of order.
    func enterSlot(_ slot: Int) {
        if !reach(slot) || p.pointee.count != p.pointee.top.mark { p.pointee.outOfOrder = true }
    }

    /// The keyed container that slot `slot` already holds, still open, made the top again: a
    /// second `container(keyedBy:)` from one encoder (a class's `super.encode(to: encoder)`)
    /// continues it, as JSONEncoder's two containers share one object. Nil when there is none.
    func openKeyed(in slot: Int) -> Int? {
        let open = p.pointee.open
        guard let i = open.lastIndex(where: { $0.id == slot }) else { return nil }
        let above = i + 1 < open.count ? open[i + 1] : p.pointee.top
        let start = -2 - above.mark
        guard above.mark <= -2, start == open[i].mark, p.pointee.base.load(fromByteOffset: start, as: UInt8.self) == BinaryFormat.object else { return nil }
        _ = reach(above.id)
        return above.id
    }

    /// Writes any value into the top container: the byte and number-array fast paths, else its
    /// `encode(to:)` into a slot.
    func value<T: Encodable>(_ v: T, key: (any CodingKey)?) throws {
        if fastValue(v) { return }
        let parent = p.pointee.top.id
        let slot = push(nil, key: key)
        try v.encode(to: BinaryEncoding(state: self, slot: slot))
        _ = reach(parent)
    }

    /// A keyed container for container `id`: one this state made before for `Key` and that
    /// nothing holds any more (its box referenced by the state alone), given the new id; else a
    /// new one, kept for next time while the state keeps fewer than 64. Codable boxes each
    /// keyed container (`KeyedEncodingContainer`): making the box costs two generic metadata
    /// look-ups, an allocation and its release, a third of a small struct's encode (callgrind).
    func keyed<Key: CodingKey>(_: Key.Type, id: Int) -> KeyedEncodingContainer<Key> {
        let type = ObjectIdentifier(Key.self)
        if let box = p.pointee.kept.free(type, movedTo: id) { return unsafeBitCast(box, to: KeyedEncodingContainer<Key>.self) }
        let cell = p.pointee.kept.cell(id)
        let c = KeyedEncodingContainer(BinaryKeyedEncoding<Key>(state: self, fixed: id, cell: cell))
        if let cell { p.pointee.kept.keep(type, unsafeBitCast(c, to: AnyObject.self), cell) }
        return c
    }

    /// The coding path of open container `id`: the keys it and its ancestors sit under.
    func path(to id: Int) -> [any CodingKey] {
        var keys: [any CodingKey] = []
        for o in p.pointee.open {
            if let k = o.key { keys.append(k) }
            if o.id == id { return keys }
        }
        if let k = p.pointee.top.key { keys.append(k) }
        return p.pointee.top.id == id ? keys : []
    }
}

/// What a ``LinearEncoding`` writes and keeps; one chain of them per thread.
@usableFromInline
struct EncodingState {
    /// An open container or slot: its id; for a slot the buffer offset where its value starts,
    /// for a tagged container `-2 - start` (the offset of its tag; -1 for the root); and the key
    /// it sits under in its parent (for `codingPath`).
    struct Open {
        var id: Int
        var mark: Int
        var key: (any CodingKey)?
    }

    /// The payload so far: `count` bytes at `base`, which has room for `capacity`.
    @usableFromInline var base: UnsafeMutableRawPointer
    @usableFromInline var count = 0
    @usableFromInline var capacity: Int
    /// The open containers under `top`, outermost first; the root (id 0) is never closed.
    var open: [Open] = []
    var top = Open(id: 0, mark: -1, key: nil)
    var nextID = 1
    var outOfOrder = false
    /// True while encoding a Connection or queue message (``BinaryEncoder/withPayload(_:message:_:)``).
    var message = false
    /// The JSON of a ``JSONCoded`` message, which then replaces the binary payload.
    var json: Data?
    var inUse = false
    /// The state an encode inside this one uses.
    var next: UnsafeMutablePointer<EncodingState>?
    /// Keyed containers made by this state, handed out again when free (``LinearEncoding/keyed(_:id:)``).
    var kept = KeptContainers<Int>()

    init() {
        capacity = 256
        base = malloc(capacity)!
    }

    static func make() -> UnsafeMutablePointer<EncodingState> {
        let p = UnsafeMutablePointer<EncodingState>.allocate(capacity: 1)
        p.initialize(to: EncodingState())
        return p
    }

    /// Room for at least `needed` bytes (doubling).
    @usableFromInline
    mutating func grow(_ needed: Int) {
        var c = capacity
        while c < needed { c *= 2 }
        base = realloc(base, c)!
        capacity = c
    }

    /// Back to 256 bytes after a large payload.
    mutating func shrink() {
        free(base)
        capacity = 256
        base = malloc(capacity)!
    }

    /// The thread's chain, freed when the thread ends.
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { raw in
            var p = raw?.assumingMemoryBound(to: EncodingState.self)
            while let s = p {
                p = s.pointee.next
                free(s.pointee.base)
                s.pointee.kept.freeCells()
                s.deinitialize(count: 1)
                s.deallocate()
            }
        }
        return k
    }()
}

/// The `Encoder` handed to a value's `encode(to:)`: it writes into slot `slot`.
struct BinaryEncoding: Encoder {
    let state: LinearEncoding
    let slot: Int
    var codingPath: [any CodingKey] { state.path(to: slot) }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    /// True for the whole value of a Connection or queue message (where a ``JSONCoded`` is the
    /// message's JSON, not a String in the binary payload).
    var isMessage: Bool { state.p.pointee.message && slot == 1 && state.count == 2 }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if let id = state.openKeyed(in: slot) { return state.keyed(Key.self, id: id) }
        state.enterSlot(slot)
        return state.keyed(Key.self, id: state.push(BinaryFormat.object, key: nil))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        state.enterSlot(slot)
        return BinaryUnkeyedEncoding(state: state, id: state.push(BinaryFormat.array, key: nil))
    }
    func singleValueContainer() -> any SingleValueEncodingContainer {
        BinarySingleEncoding(state: state, slot: slot)
    }
}
