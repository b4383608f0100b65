import CForkline
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One thread of the bridge asleep in `futex_waitv` on up to 127 waiters' futex words plus its
/// own control word, which registration, cancellation and close bump to make it look again.
final class FutexLane: @unchecked Sendable {
    // @unchecked: `control` is a private word used only with atomic operations; the entries live
    // in the bridge's state.
    static let capacity = 127
    let index: Int
    let control: UnsafeMutablePointer<UInt32>
    let stopped = Atomic<Bool>(false)
    let bridge: AsyncBridge  // strong: a failed bridge and its lanes live until the lane thread ends

    init(index: Int, bridge: AsyncBridge) {
        self.index = index
        self.bridge = bridge
        control = .allocate(capacity: 1)
        control.initialize(to: 0)
    }

    /// Makes the lane's thread rebuild its wait set.
    func poke() {
        fl_atomic_add_u32(control, 1)
        _ = fl_futex_wake_private(control, 1)
    }

    func stop() {
        stopped.store(true, ordering: .sequentiallyConsistent)
        poke()
    }

    func loop() {
        var faults = 0
        while !stopped.load(ordering: .sequentiallyConsistent) {
            let seen = fl_atomic_load_u32(control)
            let entries = bridge.state.withLock { $0.laneEntries[index] }
            var words: [UnsafeMutablePointer<UInt32>?] = [control]
            var expected: [UInt32] = [seen]
            var shared: [Int32] = [0]
            var tokens: [UInt64] = [0]
            var deadline: UInt64 = 0
            for (t, e) in entries {
                words.append(e.word); expected.append(e.expected); shared.append(e.shared ? 1 : 0); tokens.append(t)
                if e.deadline != 0 { deadline = deadline == 0 ? e.deadline : min(deadline, e.deadline) }
            }
            let rc = words.withUnsafeBufferPointer { w in
                fl_futex_waitv(w.baseAddress, expected, shared, Int32(words.count), deadline)
            }
            if rc > 0 {
                faults = 0
                bridge.resolve(tokens[Int(rc)], .success(true))
            } else if rc == -EAGAIN {
                faults = 0
                // A word already differed: each registered waiter whose word moved is resumed.
                // Read under the lock, where a registered entry's waiter keeps its memory mapped.
                let moved = bridge.state.withLock { s in
                    s.laneEntries[index].filter { fl_atomic_load_u32($0.value.word) != $0.value.expected }.map(\.key)
                }
                for t in moved { bridge.resolve(t, .success(true)) }
            } else if rc == -EFAULT {
                // A waiter left (and its memory went) between the snapshot and the wait.
                faults += 1
                if faults > 1000 { return bridge.fail(.monitorFailed(call: "futex_waitv", errno: EFAULT)) }
            } else if rc < 0 && rc != -Int32(ETIMEDOUT) && rc != -Int32(EINTR) {
                return bridge.fail(.monitorFailed(call: "futex_waitv", errno: -rc))
            }
            let now = fl_monotonic_ns()
            let expired = bridge.state.withLock { s in
                s.laneEntries[index].filter { $0.value.deadline != 0 && $0.value.deadline <= now }.map(\.key)
            }
            for t in expired { bridge.resolve(t, .success(false)) }
        }
    }
}

extension AsyncBridge {
    /// Adds a futex waiter to a lane with room (a new lane when all are full); returns the lane.
    func addFutex(_ token: UInt64, _ entry: FutexEntry) -> Int {
        var made: FutexLane?
        let lane = state.withLock { s -> Int in
            if let i = s.laneEntries.firstIndex(where: { $0.count < FutexLane.capacity }) {
                s.laneEntries[i][token] = entry
                return i
            }
            let l = FutexLane(index: s.lanes.count, bridge: self)
            s.lanes.append(l)
            s.laneEntries.append([token: entry])
            made = l
            return l.index
        }
        if let made { BridgeThread.start(made) { $0.loop() } }
        return lane
    }
}
