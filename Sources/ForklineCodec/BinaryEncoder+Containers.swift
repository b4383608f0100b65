import FoundationEssentials

/// Key, value pairs into an open `object` container of a ``LinearEncoding``.
///
/// Its id is in `cell` when the container is one the state keeps and hands out again
/// (``LinearEncoding/keyed(_:id:)``), else `fixed`.
struct BinaryKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let state: LinearEncoding
    let fixed: Int
    let cell: UnsafeMutablePointer<Int>?
    var id: Int { cell?.pointee ?? fixed }
    var codingPath: [any CodingKey] { state.path(to: id) }

    @inline(__always)
    func key(_ k: Key) {
        _ = state.reach(id)
        state.string(k.stringValue)
    }
    mutating func encodeNil(forKey k: Key) throws { key(k); state.append(BinaryFormat.null) }
    mutating func encode(_ v: Bool, forKey k: Key) throws { key(k); state.bool(v) }
    mutating func encode(_ v: String, forKey k: Key) throws { key(k); state.string(v) }
    mutating func encode(_ v: Double, forKey k: Key) throws { key(k); state.double(v) }
    mutating func encode(_ v: Float, forKey k: Key) throws { key(k); state.float(v) }
    mutating func encode(_ v: Int, forKey k: Key) throws { key(k); state.int(Int64(v)) }
    mutating func encode(_ v: Int8, forKey k: Key) throws { key(k); state.int(Int64(v)) }
    mutating func encode(_ v: Int16, forKey k: Key) throws { key(k); state.int(Int64(v)) }
    mutating func encode(_ v: Int32, forKey k: Key) throws { key(k); state.int(Int64(v)) }
    mutating func encode(_ v: Int64, forKey k: Key) throws { key(k); state.int(v) }
    mutating func encode(_ v: UInt, forKey k: Key) throws { key(k); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8, forKey k: Key) throws { key(k); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16, forKey k: Key) throws { key(k); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32, forKey k: Key) throws { key(k); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64, forKey k: Key) throws { key(k); state.uint(v) }
    mutating func encode<T: Encodable>(_ v: T, forKey k: Key) throws {
        key(k)
        try state.value(v, key: k)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey k: Key) -> KeyedEncodingContainer<NestedKey> {
        key(k)
        return state.keyed(NestedKey.self, id: state.push(BinaryFormat.object, key: k))
    }
    mutating func nestedUnkeyedContainer(forKey k: Key) -> any UnkeyedEncodingContainer {
        key(k)
        return BinaryUnkeyedEncoding(state: state, id: state.push(BinaryFormat.array, key: k))
    }
    mutating func superEncoder() -> any Encoder {
        _ = state.reach(id)
        state.string("super")
        return BinaryEncoding(state: state, slot: state.push(nil, key: nil))
    }
    mutating func superEncoder(forKey k: Key) -> any Encoder {
        key(k)
        return BinaryEncoding(state: state, slot: state.push(nil, key: k))
    }
}

/// Values into an open `array` container of a ``LinearEncoding``.
struct BinaryUnkeyedEncoding: UnkeyedEncodingContainer {
    let state: LinearEncoding
    let id: Int
    var count = 0
    var codingPath: [any CodingKey] { state.path(to: id) }

    init(state: LinearEncoding, id: Int) {
        self.state = state
        self.id = id
    }

    @inline(__always)
    mutating func next() {
        _ = state.reach(id)
        count += 1
    }
    mutating func encodeNil() throws { next(); state.append(BinaryFormat.null) }
    mutating func encode(_ v: Bool) throws { next(); state.bool(v) }
    mutating func encode(_ v: String) throws { next(); state.string(v) }
    mutating func encode(_ v: Double) throws { next(); state.double(v) }
    mutating func encode(_ v: Float) throws { next(); state.float(v) }
    mutating func encode(_ v: Int) throws { next(); state.int(Int64(v)) }
    mutating func encode(_ v: Int8) throws { next(); state.int(Int64(v)) }
    mutating func encode(_ v: Int16) throws { next(); state.int(Int64(v)) }
    mutating func encode(_ v: Int32) throws { next(); state.int(Int64(v)) }
    mutating func encode(_ v: Int64) throws { next(); state.int(v) }
    mutating func encode(_ v: UInt) throws { next(); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8) throws { next(); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16) throws { next(); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32) throws { next(); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64) throws { next(); state.uint(v) }
    mutating func encode<T: Encodable>(_ v: T) throws {
        next()
        try state.value(v, key: BinaryIndexKey(count - 1))
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        next()
        return state.keyed(NestedKey.self, id: state.push(BinaryFormat.object, key: BinaryIndexKey(count - 1)))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        next()
        return BinaryUnkeyedEncoding(state: state, id: state.push(BinaryFormat.array, key: BinaryIndexKey(count - 1)))
    }
    mutating func superEncoder() -> any Encoder {
        next()
        return BinaryEncoding(state: state, slot: state.push(nil, key: BinaryIndexKey(count - 1)))
    }
}

/// One value into slot `slot` of a ``LinearEncoding``.
struct BinarySingleEncoding: SingleValueEncodingContainer {
    let state: LinearEncoding
    let slot: Int
    var codingPath: [any CodingKey] { state.path(to: slot) }

    @inline(__always)
    func enter() { state.enterSlot(slot) }
    mutating func encodeNil() throws { enter(); state.append(BinaryFormat.null) }
    mutating func encode(_ v: Bool) throws { enter(); state.bool(v) }
    mutating func encode(_ v: String) throws { enter(); state.string(v) }
    mutating func encode(_ v: Double) throws { enter(); state.double(v) }
    mutating func encode(_ v: Float) throws { enter(); state.float(v) }
    mutating func encode(_ v: Int) throws { enter(); state.int(Int64(v)) }
    mutating func encode(_ v: Int8) throws { enter(); state.int(Int64(v)) }
    mutating func encode(_ v: Int16) throws { enter(); state.int(Int64(v)) }
    mutating func encode(_ v: Int32) throws { enter(); state.int(Int64(v)) }
    mutating func encode(_ v: Int64) throws { enter(); state.int(v) }
    mutating func encode(_ v: UInt) throws { enter(); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8) throws { enter(); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16) throws { enter(); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32) throws { enter(); state.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64) throws { enter(); state.uint(v) }
    mutating func encode<T: Encodable>(_ v: T) throws {
        enter()
        try state.value(v, key: nil)
    }
}
