@testable import ForklinePool
import Testing

/// The scheduler's and the driver's table keyed by task id: it must answer exactly as a
/// dictionary does, whatever the ids (dense, sparse, below its front, a task outliving many).
@Suite("Task table keyed by dense task ids")
struct TaskTableTests {
    /// Checks every id the model knows and a few it does not.
    func agree(_ table: TaskTable<Int>, _ model: [UInt64: Int], probes: [UInt64]) {
        #expect(table.count == model.count)
        #expect(table.isEmpty == model.isEmpty)
        for (id, v) in model where table[id] != v { Issue.record("id \(id): table \(String(describing: table[id])), model \(v)") }
        for id in probes where table[id] != model[id] { Issue.record("probe \(id): table \(String(describing: table[id])), model \(String(describing: model[id]))") }
    }

    @Test("consecutive ids finished roughly in order, with re-dispatch updates, agree with a dictionary")
    func denseRoughlyInOrder() {
        var table = TaskTable<Int>(), model: [UInt64: Int] = [:]
        var rng = SplitMix(seed: 1)
        var next: UInt64 = 1
        var live: [UInt64] = []
        for step in 0..<20_000 {
            let r = rng.next() % 10
            if r < 5 || live.isEmpty {
                table[next] = Int(next)
                model[next] = Int(next)
                live.append(next)
                next += 1
            } else if r < 9 {
                // Mostly the oldest, sometimes one a little later.
                let i = min(live.count - 1, Int(rng.next() % 3))
                let id = live.remove(at: i)
                #expect(table.removeValue(forKey: id) == model.removeValue(forKey: id))
            } else {
                let id = live[Int(rng.next() % UInt64(live.count))]
                table[id] = -step
                model[id] = -step
            }
        }
        agree(table, model, probes: [0, next, next + 1, 1, UInt64.max])
    }

    @Test("sparse ids, ids below the front and far past it, agree with a dictionary")
    func sparseAndOutOfRange() {
        var table = TaskTable<Int>(), model: [UInt64: Int] = [:]
        var rng = SplitMix(seed: 7)
        let far = UInt64(TaskTable<Int>.reach) * 3
        var ids: [UInt64] = []
        for step in 0..<5_000 {
            let id: UInt64
            switch rng.next() % 4 {
            case 0: id = rng.next() % 64  // near the start
            case 1: id = 1_000 + rng.next() % far  // far apart
            case 2: id = UInt64.max - rng.next() % 8
            default: id = ids.isEmpty ? 5 : ids[Int(rng.next() % UInt64(ids.count))]
            }
            if rng.next() % 3 == 0 {
                #expect(table.removeValue(forKey: id) == model.removeValue(forKey: id))
            } else {
                table[id] = step
                model[id] = step
                ids.append(id)
            }
        }
        agree(table, model, probes: Array(0..<70) + [far, far + 1_000, UInt64.max])
        for id in ids { table[id] = nil; model[id] = nil }
        agree(table, model, probes: [0, 1, far])
        #expect(table.isEmpty)
    }

    @Test("a task that stays while more than `reach` later tasks come and go is still found")
    func longLivedTask() {
        var table = TaskTable<Int>(), model: [UInt64: Int] = [:]
        table[1] = 1
        model[1] = 1
        let n = UInt64(TaskTable<Int>.reach) * 2 + 10
        for id in 2...n {
            table[id] = Int(id)
            model[id] = Int(id)
            if id > 4 {
                #expect(table.removeValue(forKey: id - 2) == model.removeValue(forKey: id - 2))
            }
        }
        agree(table, model, probes: [0, 2, 3, 4, n - 3, n + 1])
        // The array does not grow with the ids that went by: the ones that stay moved out of it.
        #expect(table.span <= TaskTable<Int>.reach, "the array spans \(table.span) ids")
        table[1] = nil
        model[1] = nil
        agree(table, model, probes: [1, n - 1, n])
        // Emptied, then used again from a lower id.
        table[n] = nil; table[n - 1] = nil; table[2] = nil; table[3] = nil; table[4] = nil
        #expect(table.isEmpty)
        table[3] = 33
        #expect(table[3] == 33 && table.count == 1)
    }
}
