import ForklineSpawn
import ForklineSystem

/// Runs a blocking wait off the cooperative pool (queues' async `put`, `get` and `join`), on
/// the async bridge's reused blocking threads (``AsyncBridge/runBlocking(_:)``). Async calls
/// first try without waiting.
enum Offload {
    /// Runs `body` on a blocking thread of the bridge and suspends until it returns.
    static func run<R: Sendable>(_ body: @escaping @Sendable () -> R) async -> R {
        await AsyncBridge.runBlocking(body)
    }
}
