import FoundationEssentials

/// The constants of Forkline's binary value format (docs/codec.md): a payload is the magic byte
/// `0xFB`, the version `1`, then one value; every value starts with a one-byte tag.
@usableFromInline
package enum BinaryFormat {
    @inlinable package static var magic: UInt8 { 0xFB }
    @inlinable static var version: UInt8 { 1 }

    // Value tags.
    @inlinable static var null: UInt8 { 0x00 }
    @inlinable static var falseTag: UInt8 { 0x01 }
    @inlinable static var trueTag: UInt8 { 0x02 }
    /// A signed integer: zigzag LEB128.
    @inlinable static var int: UInt8 { 0x03 }
    /// An unsigned integer: LEB128.
    @inlinable static var uint: UInt8 { 0x04 }
    /// A Float: 4 bytes little-endian.
    @inlinable static var float: UInt8 { 0x05 }
    /// A Double: 8 bytes little-endian.
    @inlinable static var double: UInt8 { 0x06 }
    /// A String: LEB128 byte count, UTF-8.
    @inlinable static var string: UInt8 { 0x07 }
    /// Bytes (`[UInt8]`, `Data`): LEB128 count, the bytes.
    @inlinable static var bytes: UInt8 { 0x08 }
    /// An unkeyed container: values, then `end`.
    @inlinable static var array: UInt8 { 0x09 }
    /// A keyed container: (String key, value) pairs, then `end`.
    @inlinable static var object: UInt8 { 0x0A }
    /// An array of fixed-size numbers: element code, LEB128 count, the little-endian images.
    @inlinable static var numbers: UInt8 { 0x0B }
    /// Ends an `array` or `object`.
    @inlinable static var end: UInt8 { 0x0F }

    /// True when `bytes` starts like a binary payload (magic and version).
    @inlinable
    static func isPayload(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] == magic && bytes[1] == version
    }
}

/// Arrays of fixed-size numbers, which travel as their memory image (`numbers` tag): the element
/// code names the type so that a reader never reinterprets one as another. Every bit pattern is
/// a valid value of these types, so damaged bytes give wrong numbers, never undefined behaviour.
@usableFromInline
enum NumberArray {
    /// The element code of `[T]`'s element, or nil when `T` is not such an array.
    @inlinable
    static func code<T>(_: T.Type) -> UInt8? {
        if T.self == [Int].self { return 1 }
        if T.self == [Double].self { return 2 }
        if T.self == [Float].self { return 3 }
        if T.self == [Int64].self { return 4 }
        if T.self == [UInt64].self { return 5 }
        if T.self == [Int32].self { return 6 }
        if T.self == [UInt32].self { return 7 }
        if T.self == [Int16].self { return 8 }
        if T.self == [UInt16].self { return 9 }
        if T.self == [Int8].self { return 10 }
        if T.self == [UInt].self { return 11 }
        return nil
    }

    /// The element size for element code `code`.
    @inlinable
    static func size(_ code: UInt8) -> Int? {
        switch code {
        case 1, 2, 4, 5, 11: return 8
        case 3, 6, 7: return 4
        case 8, 9: return 2
        case 10: return 1
        default: return nil
        }
    }

    /// Calls `body` with the memory image of `value` (an array whose `code` is not nil).
    @inlinable
    static func withImage<T>(_ value: T, _ body: (UnsafeRawBufferPointer) -> Void) {
        func image<E>(_ a: [E]) { a.withUnsafeBytes(body) }
        if T.self == [Int].self { return image(unsafeBitCast(value, to: [Int].self)) }
        if T.self == [Double].self { return image(unsafeBitCast(value, to: [Double].self)) }
        if T.self == [Float].self { return image(unsafeBitCast(value, to: [Float].self)) }
        if T.self == [Int64].self { return image(unsafeBitCast(value, to: [Int64].self)) }
        if T.self == [UInt64].self { return image(unsafeBitCast(value, to: [UInt64].self)) }
        if T.self == [Int32].self { return image(unsafeBitCast(value, to: [Int32].self)) }
        if T.self == [UInt32].self { return image(unsafeBitCast(value, to: [UInt32].self)) }
        if T.self == [Int16].self { return image(unsafeBitCast(value, to: [Int16].self)) }
        if T.self == [UInt16].self { return image(unsafeBitCast(value, to: [UInt16].self)) }
        if T.self == [Int8].self { return image(unsafeBitCast(value, to: [Int8].self)) }
        if T.self == [UInt].self { return image(unsafeBitCast(value, to: [UInt].self)) }
        preconditionFailure("NumberArray.withImage: \(T.self) is not an array of numbers")
    }

    /// A `T` (an array whose `code` is not nil) of `count` elements copied from `image`.
    @inlinable
    static func make<T>(_: T.Type, count: Int, image: UnsafeRawBufferPointer) -> T {
        func array<E: BitwiseCopyable>(_: E.Type) -> T {
            let a = [E](unsafeUninitializedCapacity: count) { buf, n in
                if count > 0 { UnsafeMutableRawPointer(buf.baseAddress!).copyMemory(from: image.baseAddress!, byteCount: count * MemoryLayout<E>.size) }
                n = count
            }
            return unsafeBitCast(a, to: T.self)
        }
        if T.self == [Int].self { return array(Int.self) }
        if T.self == [Double].self { return array(Double.self) }
        if T.self == [Float].self { return array(Float.self) }
        if T.self == [Int64].self { return array(Int64.self) }
        if T.self == [UInt64].self { return array(UInt64.self) }
        if T.self == [Int32].self { return array(Int32.self) }
        if T.self == [UInt32].self { return array(UInt32.self) }
        if T.self == [Int16].self { return array(Int16.self) }
        if T.self == [UInt16].self { return array(UInt16.self) }
        if T.self == [Int8].self { return array(Int8.self) }
        if T.self == [UInt].self { return array(UInt.self) }
        preconditionFailure("NumberArray.make: \(T.self) is not an array of numbers")
    }
}
