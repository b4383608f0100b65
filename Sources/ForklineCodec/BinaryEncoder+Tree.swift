import FoundationEssentials

/// The general encoder, used when a value writes out of order (a nested container filled after
/// its parent was written to again, which ``BinaryEncoder``'s one-buffer path cannot place): each
/// container is a box of its own, spliced in at its offset when the payload is flattened.
enum TreeEncoder {
    /// The binary payload of `value`: magic, version, value.
    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let root = EncodingBox(prefix: nil)
        root.buf.reserveCapacity(64)
        root.buf.append(BinaryFormat.magic)
        root.buf.append(BinaryFormat.version)
        try root.value(value, codingPath: [])
        if root.children.isEmpty { return root.buf }
        var out: [UInt8] = []
        out.reserveCapacity(root.size)
        root.flatten(into: &out)
        return out
    }
}

/// A container's bytes while it is encoded: scalars go straight into `buf`; a nested container
/// is a child box spliced in at its offset when the payload is flattened (Codable hands out
/// nested containers that are filled later, so one flat buffer cannot hold them in order).
final class EncodingBox: ByteWriter {
    var buf: [UInt8] = []
    var children: [(offset: Int, box: EncodingBox)] = []
    /// The container's tag (`array`, `object`), or nil for a single value slot.
    let prefix: UInt8?

    init(prefix: UInt8?) { self.prefix = prefix }

    func emit(max n: Int, _ body: (UnsafeMutableRawPointer) -> Int) {
        let start = buf.count
        buf.append(contentsOf: repeatElement(0, count: n))
        let used = buf.withUnsafeMutableBytes { body($0.baseAddress! + start) }
        buf.removeLast(n - used)
    }

    /// The flattened size in bytes.
    var size: Int { buf.count + (prefix == nil ? (isEmpty ? 2 : 0) : 2) + children.reduce(0) { $0 + $1.box.size } }
    var isEmpty: Bool { buf.isEmpty && children.isEmpty }

    func flatten(into out: inout [UInt8]) {
        if let prefix { out.append(prefix) } else if isEmpty {
            // A value that encoded nothing: an empty keyed container, as JSONEncoder writes `{}`.
            out.append(BinaryFormat.object)
            out.append(BinaryFormat.end)
            return
        }
        var last = 0
        for (offset, child) in children {
            out.append(contentsOf: buf[last..<offset])
            child.flatten(into: &out)
            last = offset
        }
        out.append(contentsOf: buf[last...])
        if prefix != nil { out.append(BinaryFormat.end) }
    }

    func child(_ prefix: UInt8?) -> EncodingBox {
        let b = EncodingBox(prefix: prefix)
        children.append((buf.count, b))
        return b
    }

    /// Writes any value: the byte and number-array fast paths, else its `encode(to:)`.
    func value<T: Encodable>(_ v: T, codingPath: [any CodingKey]) throws {
        if fastValue(v) { return }
        let mark = (buf.count, children.count)
        try v.encode(to: TreeEncoding(box: self, codingPath: codingPath))
        if (buf.count, children.count) == mark {
            buf.append(BinaryFormat.object)
            buf.append(BinaryFormat.end)
        }
    }
}

/// The `Encoder` handed to a value's `encode(to:)`: it writes into the slot at the end of `box`.
struct TreeEncoding: Encoder {
    let box: EncodingBox
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(TreeKeyedEncoding<Key>(box: box.child(BinaryFormat.object), codingPath: codingPath))
    }
    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        TreeUnkeyedEncoding(box: box.child(BinaryFormat.array), codingPath: codingPath)
    }
    func singleValueContainer() -> any SingleValueEncodingContainer {
        TreeSingleEncoding(box: box, codingPath: codingPath)
    }
}

/// Key, value pairs into an `object` box.
struct TreeKeyedEncoding<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: EncodingBox
    var codingPath: [any CodingKey]

    func key(_ k: Key) { box.string(k.stringValue) }
    mutating func encodeNil(forKey k: Key) throws { key(k); box.buf.append(BinaryFormat.null) }
    mutating func encode(_ v: Bool, forKey k: Key) throws { key(k); box.bool(v) }
    mutating func encode(_ v: String, forKey k: Key) throws { key(k); box.string(v) }
    mutating func encode(_ v: Double, forKey k: Key) throws { key(k); box.double(v) }
    mutating func encode(_ v: Float, forKey k: Key) throws { key(k); box.float(v) }
    mutating func encode(_ v: Int, forKey k: Key) throws { key(k); box.int(Int64(v)) }
    mutating func encode(_ v: Int8, forKey k: Key) throws { key(k); box.int(Int64(v)) }
    mutating func encode(_ v: Int16, forKey k: Key) throws { key(k); box.int(Int64(v)) }
    mutating func encode(_ v: Int32, forKey k: Key) throws { key(k); box.int(Int64(v)) }
    mutating func encode(_ v: Int64, forKey k: Key) throws { key(k); box.int(v) }
    mutating func encode(_ v: UInt, forKey k: Key) throws { key(k); box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8, forKey k: Key) throws { key(k); box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16, forKey k: Key) throws { key(k); box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32, forKey k: Key) throws { key(k); box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64, forKey k: Key) throws { key(k); box.uint(v) }
    mutating func encode<T: Encodable>(_ v: T, forKey k: Key) throws {
        key(k)
        try box.value(v, codingPath: codingPath + [k])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey k: Key) -> KeyedEncodingContainer<NestedKey> {
        key(k)
        return KeyedEncodingContainer(TreeKeyedEncoding<NestedKey>(box: box.child(BinaryFormat.object), codingPath: codingPath + [k]))
    }
    mutating func nestedUnkeyedContainer(forKey k: Key) -> any UnkeyedEncodingContainer {
        key(k)
        return TreeUnkeyedEncoding(box: box.child(BinaryFormat.array), codingPath: codingPath + [k])
    }
    mutating func superEncoder() -> any Encoder {
        box.string("super")
        return TreeEncoding(box: box.child(nil), codingPath: codingPath)
    }
    mutating func superEncoder(forKey k: Key) -> any Encoder {
        key(k)
        return TreeEncoding(box: box.child(nil), codingPath: codingPath + [k])
    }
}

/// Values into an `array` box.
struct TreeUnkeyedEncoding: UnkeyedEncodingContainer {
    let box: EncodingBox
    var codingPath: [any CodingKey]
    var count = 0

    init(box: EncodingBox, codingPath: [any CodingKey]) {
        self.box = box
        self.codingPath = codingPath
    }

    mutating func encodeNil() throws { count += 1; box.buf.append(BinaryFormat.null) }
    mutating func encode(_ v: Bool) throws { count += 1; box.bool(v) }
    mutating func encode(_ v: String) throws { count += 1; box.string(v) }
    mutating func encode(_ v: Double) throws { count += 1; box.double(v) }
    mutating func encode(_ v: Float) throws { count += 1; box.float(v) }
    mutating func encode(_ v: Int) throws { count += 1; box.int(Int64(v)) }
    mutating func encode(_ v: Int8) throws { count += 1; box.int(Int64(v)) }
    mutating func encode(_ v: Int16) throws { count += 1; box.int(Int64(v)) }
    mutating func encode(_ v: Int32) throws { count += 1; box.int(Int64(v)) }
    mutating func encode(_ v: Int64) throws { count += 1; box.int(v) }
    mutating func encode(_ v: UInt) throws { count += 1; box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8) throws { count += 1; box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16) throws { count += 1; box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32) throws { count += 1; box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64) throws { count += 1; box.uint(v) }
    mutating func encode<T: Encodable>(_ v: T) throws {
        count += 1
        try box.value(v, codingPath: codingPath)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        count += 1
        return KeyedEncodingContainer(TreeKeyedEncoding<NestedKey>(box: box.child(BinaryFormat.object), codingPath: codingPath))
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        count += 1
        return TreeUnkeyedEncoding(box: box.child(BinaryFormat.array), codingPath: codingPath)
    }
    mutating func superEncoder() -> any Encoder {
        count += 1
        return TreeEncoding(box: box.child(nil), codingPath: codingPath)
    }
}

/// One value into the slot at the end of `box`.
struct TreeSingleEncoding: SingleValueEncodingContainer {
    let box: EncodingBox
    var codingPath: [any CodingKey]

    mutating func encodeNil() throws { box.buf.append(BinaryFormat.null) }
    mutating func encode(_ v: Bool) throws { box.bool(v) }
    mutating func encode(_ v: String) throws { box.string(v) }
    mutating func encode(_ v: Double) throws { box.double(v) }
    mutating func encode(_ v: Float) throws { box.float(v) }
    mutating func encode(_ v: Int) throws { box.int(Int64(v)) }
    mutating func encode(_ v: Int8) throws { box.int(Int64(v)) }
    mutating func encode(_ v: Int16) throws { box.int(Int64(v)) }
    mutating func encode(_ v: Int32) throws { box.int(Int64(v)) }
    mutating func encode(_ v: Int64) throws { box.int(v) }
    mutating func encode(_ v: UInt) throws { box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt8) throws { box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt16) throws { box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt32) throws { box.uint(UInt64(v)) }
    mutating func encode(_ v: UInt64) throws { box.uint(v) }
    mutating func encode<T: Encodable>(_ v: T) throws { try box.value(v, codingPath: codingPath) }
}
