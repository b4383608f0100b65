import ForklineSystem

/// The barrier's action: Python's `Barrier(parties, action=...)`.
///
/// The last party to arrive runs the action holding the barrier's monitor, after it checked
/// that every party of the round is alive and before the round passes, so every other party
/// leaves the round after the action has returned. The state is marked mid-change meanwhile: a
/// party that dies inside the action leaves the barrier broken (`partyDied`), never passed.
///
/// The action is a closure of this process. A fork child inherits it (a barrier it decodes finds
/// the action by the barrier's id in the table below, copied with the parent's memory); a spawn
/// or forkserver child decodes the barrier without it (closures cannot be encoded), and attaches
/// its own with ``Barrier/withAction(_:)``. A party without the action that arrives last at a barrier that has
/// one breaks the round with an error that says so, rather than pass without it.
extension Barrier {
    /// The actions of the barriers this process created, by barrier id (fork children inherit it).
    static let actions = ForkSafeLock<[UInt64: @Sendable () throws -> Void]>([:])

    /// This barrier (the same shared state) with `action` as this process's copy of its action:
    /// for a barrier decoded in a spawn or forkserver child, whose action could not travel.
    ///
    /// ```swift
    /// let barrier = args.barrier.withAction { print("round done") }
    /// try barrier.wait()
    /// ```
    public func withAction(_ action: @escaping @Sendable () throws -> Void) -> Barrier {
        Barrier(id: id, core: core, action: action)
    }

    /// True when the barrier was created with an action (in whichever process created it).
    public var hasAction: Bool { core[7] == 1 }

    /// Called holding the monitor by the last party of a round: runs the action; nil when it
    /// returned, else why the round must break (the caller breaks it and throws).
    func runAction() -> String? {
        guard let action else {
            return "the barrier has an action and this process has none (a barrier decoded in a spawn or forkserver child: attach it with withAction(_:))"
        }
        do {
            try action()
            return nil
        } catch {
            return "its action threw \(String(reflecting: type(of: error))): \(error)"
        }
    }
}
