#if canImport(Glibc)
import Glibc
#endif

/// Runs a blocking wait on a thread of its own, so an async caller's cooperative thread is
/// never blocked (queues' async `put`, `get` and `join`). A thread per wait costs tens of
/// microseconds: async calls first try without waiting.
enum Offload {
    final class Job {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Runs `body` on a new detached thread and suspends until it returns.
    static func run<R: Sendable>(_ body: @escaping @Sendable () -> R) async -> R {
        await withCheckedContinuation { (c: CheckedContinuation<R, Never>) in
            let job = Unmanaged.passRetained(Job { c.resume(returning: body()) }).toOpaque()
            var thread = pthread_t()
            let rc = pthread_create(&thread, nil, { p in
                Unmanaged<Job>.fromOpaque(p!).takeRetainedValue().body()
                return nil
            }, job)
            if rc == 0 {
                pthread_detach(thread)
            } else {
                // No thread to be had: run it here rather than fail (this blocks the caller).
                Unmanaged<Job>.fromOpaque(job).takeRetainedValue().body()
            }
        }
    }
}
