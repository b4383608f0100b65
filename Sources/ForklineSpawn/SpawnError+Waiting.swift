import ForklineSystem

extension SpawnError {
    /// The error an async wait of ForklineSpawn throws when the bridge ended it.
    init(waiting failure: WaitFailure, _ context: String) {
        switch failure {
        case .cancelled: self.init(.cancelled, "\(context): the task was cancelled")
        case .closed: self.init(.notStarted, "\(context): the handle was closed")
        case .monitorFailed(let call, let e), .systemCallFailed(let call, let e): self = .system(call, e, context)
        }
    }
}
