import Synchronization

/// A one-way flag: `set()` returns true only for the first caller.
final class ForkSafeFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() -> Bool { !value.exchange(true, ordering: .acquiringAndReleasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
