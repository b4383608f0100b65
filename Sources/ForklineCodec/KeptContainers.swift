/// The keyed containers one encoding or decoding state made, kept to be handed out again
/// (docs/codec.md, "Keyed containers handed out again"): per container its `Key` type, its box
/// (the `KeyedEncodingContainer` or `KeyedDecodingContainer` as a reference: that struct is one
/// reference to its box), and the cell the container reads its place from, which the state
/// rewrites when it hands the container out again.
struct KeptContainers<Place> {
    struct Entry {
        let type: ObjectIdentifier
        var box: AnyObject
        let place: UnsafeMutablePointer<Place>
    }
    var entries: [Entry] = []

    /// At most this many are kept; a container made beyond them is not kept.
    static var limit: Int { 64 }

    /// A kept container for the `Key` type `type` that nothing but this list holds, moved to
    /// `place`; nil when there is none.
    @inline(__always)
    mutating func free(_ type: ObjectIdentifier, movedTo place: Place) -> AnyObject? {
        let n = entries.count
        var i = 0
        while i < n {
            if entries[i].type == type, isKnownUniquelyReferenced(&entries[i].box) {
                entries[i].place.pointee = place
                return entries[i].box
            }
            i += 1
        }
        return nil
    }

    /// A new cell holding `place` for a container to be kept, nil when the list is full.
    @inline(__always)
    func cell(_ place: Place) -> UnsafeMutablePointer<Place>? {
        guard entries.count < Self.limit else { return nil }
        let cell = UnsafeMutablePointer<Place>.allocate(capacity: 1)
        cell.initialize(to: place)
        return cell
    }

    /// Keeps the container `box` of `type`, which reads its place from `cell`.
    mutating func keep(_ type: ObjectIdentifier, _ box: AnyObject, _ cell: UnsafeMutablePointer<Place>) {
        entries.append(Entry(type: type, box: box, place: cell))
    }

    /// Frees the cells (the thread ends; the boxes go with the list).
    func freeCells() {
        for e in entries {
            e.place.deinitialize(count: 1)
            e.place.deallocate()
        }
    }
}
