/// A table keyed by task id, for the ids the pool hands out: consecutive, and finished (removed)
/// roughly in the order they were submitted. They live in an array indexed by `id - base`, whose
/// front moves on past the ids already removed: a look-up is an index, not a hash (the profile of
/// tiny tasks at chunksize 1 had the driver thread's dictionary look-ups keyed by task id among
/// its largest costs). Any id works: one below the array's front or `reach` or more past it goes
/// into a dictionary; so do the tasks at the front of the array when an id a little past `reach`
/// comes (a task that stays while very many later ones come and go): the array spans at most
/// `reach` ids, whatever stays.
struct TaskTable<Value> {
    /// `slots[head + i]` holds the task `base + i`; the ones before `head` are spent.
    private var slots: [Value?] = []
    private var head = 0
    private var base: UInt64 = 0
    private var spill: [UInt64: Value] = [:]
    /// How many tasks the table holds.
    private(set) var count = 0
    /// How many ids the array spans at most: bounds the memory a task that stays can hold up.
    static var reach: Int { 1 << 16 }
    /// How many ids the array spans now (a test's view of its memory).
    var span: Int { slots.count - head }

    init() {}

    var isEmpty: Bool { count == 0 }

    private func slot(_ id: UInt64) -> Int? {
        guard id >= base else { return nil }
        let offset = id - base
        return offset < UInt64(slots.count - head) ? head + Int(offset) : nil
    }

    subscript(id: UInt64) -> Value? {
        get {
            if let i = slot(id), let value = slots[i] { return value }
            return spill.isEmpty ? nil : spill[id]
        }
        set {
            // A task kept in the dictionary stays there (the array may have grown over its id).
            if !spill.isEmpty, spill[id] != nil {
                if let newValue { spill[id] = newValue } else {
                    spill[id] = nil
                    count -= 1
                }
                return
            }
            if let i = slot(id) {
                switch (slots[i] != nil, newValue != nil) {
                case (false, true): count += 1
                case (true, false): count -= 1
                default: break
                }
                slots[i] = newValue
                if newValue == nil && i == head { advance() }
                return
            }
            guard let newValue else {
                if spill.removeValue(forKey: id) != nil { count -= 1 }
                return
            }
            if head == slots.count {  // the array holds nothing: start it at this id
                slots.removeAll(keepingCapacity: true)
                head = 0
                base = id
            }
            if id >= base, id - base >= UInt64(Self.reach), id - base < 2 * UInt64(Self.reach) {
                // The ids moved on past tasks that stay at the front: those go to the dictionary.
                while head < slots.count, id - base >= UInt64(Self.reach) {
                    if let stays = slots[head] { spill[base] = stays }
                    slots[head] = nil
                    head += 1
                    base &+= 1  // past UInt64.max only as the array empties
                }
                advance()
                if head == slots.count { base = id }
            }
            if id >= base, id - base < UInt64(Self.reach) {
                let gap = Int(id - base) - (slots.count - head)
                if gap > 0 { slots.append(contentsOf: repeatElement(nil, count: gap)) }
                slots.append(newValue)
                count += 1
                return
            }
            if spill.updateValue(newValue, forKey: id) == nil { count += 1 }
        }
    }

    /// Removes the task and returns what the table held for it.
    @discardableResult
    mutating func removeValue(forKey id: UInt64) -> Value? {
        let value = self[id]
        if value != nil { self[id] = nil }
        return value
    }

    /// Moves the array's front past the removed tasks; drops the spent part once it is most of it.
    private mutating func advance() {
        while head < slots.count, slots[head] == nil {
            head += 1
            base &+= 1  // past UInt64.max only as the array empties
        }
        if head == slots.count {
            slots.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024 && head * 2 > slots.count {
            slots.removeFirst(head)
            head = 0
        }
    }
}

extension TaskTable: Sendable where Value: Sendable {}
