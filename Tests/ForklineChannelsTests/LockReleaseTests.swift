import Foundation
import ForklineChannels
import Testing

/// `Lock.release()` by a thread that does not hold the lock is an error (as `RLock.release()`
/// is), not a trap, and leaves the lock as it was.
@Suite("Releasing a Lock one does not hold")
struct LockReleaseTests {
    @Test("release without acquire, a second release, and a release from another thread throw notOwner")
    func notOwner() throws {
        let lock = try Lock()
        #expect(throws: ChannelError.self) { try lock.release() }
        #expect(lock.acquire(timeout: .seconds(5)) == .acquired)
        // Another thread cannot release it; the lock stays held.
        let other = Thread {
            do { try lock.release(); print("released from another thread") } catch let e as ChannelError {
                OtherThreadResult.code.withLock { $0 = e.code.description }
            } catch {}
        }
        other.start()
        while !other.isFinished { usleep(1_000) }
        #expect(OtherThreadResult.code.withLock { $0 } == "notOwner")
        try lock.release()
        do { try lock.release(); Issue.record("a second release succeeded") } catch { #expect(error.code == .notOwner) }
        // Still a working lock.
        #expect(lock.acquire(timeout: .seconds(5)) == .acquired)
        try lock.release()
        let cond = try Condition(lock: lock)
        do { try cond.release(); Issue.record("releasing an unheld Condition succeeded") } catch { #expect(error.code == .notOwner) }
    }
}

enum OtherThreadResult {
    static let code = NSLock.Protected<String?>(nil)
}

extension NSLock {
    final class Protected<T>: @unchecked Sendable {
        // @unchecked: `value` is only touched under `lock`.
        let lock = NSLock()
        var value: T
        init(_ v: T) { value = v }
        func withLock<R>(_ body: (inout T) -> R) -> R { lock.lock(); defer { lock.unlock() }; return body(&value) }
    }
}
