extension Scheduler {
    /// With ``Config/killOnCancel``: kills worker `w` when the task it runs (its first) was
    /// cancelled by its caller. The task then fails as cancelled, the worker is replaced, and
    /// the tasks it held behind it are queued again (the cancelled ones fail as cancelled).
    mutating func killIfHeadCancelled(_ w: WorkerID) -> [Action] {
        guard config.killOnCancel, let worker = workers[w], worker.killedFor == nil,
              let head = worker.outstanding.first, tasks[head]?.cancelled == true else { return [] }
        workers[w]!.killedFor = head
        workers[w]!.killedToCancel = true
        return [.killWorker(w)]
    }
}
