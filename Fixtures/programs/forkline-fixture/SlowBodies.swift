// Async receives whose frames arrive slowly must not hold the cooperative pool's threads. Run in
// a process of its own: in the shared test process other tests' blocking calls can occupy the
// pool (two threads on a 2-core machine) for longer than the check waits, whatever Forkline does.
import Forkline
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

final class FixtureFlag: Sendable {
    let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

enum SlowBodies {
    /// `async-slow-bodies`: 16 async receives (far more than the pool's threads) each get a
    /// frame's header and one byte of its body, then nothing for a while: a detached task must
    /// run meanwhile. Prints `progressed yes|no` and `received N`.
    static func run() async throws {
        let n = 16
        let pairs = try (0..<n).map { _ in try Connection.pipe() }
        let payload = [UInt8](repeating: 5, count: 100)
        let (fa, fb) = try Connection.pipe()
        try fa.sendBytes(payload)
        var frame = [UInt8](repeating: 0, count: 4096)
        let frameLength = read(fb.fileDescriptors[0], &frame, frame.count)
        let receivers = pairs.map { pair in Task { try await pair.1.receiveBytes() } }
        let progressed = FixtureFlag()
        let verdict = FixtureFlag()
        let writer = Thread { [frame] in
            for (s, _) in pairs { _ = frame.withUnsafeBytes { write(s.fileDescriptors[0], $0.baseAddress, 30) } }
            Thread.sleep(forTimeInterval: 0.5)
            Task.detached { progressed.set() }
            let deadline = Date().addingTimeInterval(30)
            while !progressed.isSet, Date() < deadline { usleep(10_000) }
            if progressed.isSet { verdict.set() }
            for (s, _) in pairs { _ = frame.withUnsafeBytes { write(s.fileDescriptors[0], $0.baseAddress! + 30, frameLength - 30) } }
        }
        writer.start()
        var got = 0
        for r in receivers where (try? await r.value) == payload { got += 1 }
        print("progressed \(verdict.isSet ? "yes" : "no")")
        print("received \(got)")
    }
}

enum ReusedDescriptor {
    /// `async-reused-fd`: a task awaits receive on a connection that is then closed; a new
    /// connection gets the same descriptor number; a waiter on it must be woken by a send. In a
    /// process of its own: in the shared test process other tests take closed numbers first.
    /// Prints `reused yes|no` and `got N|none`.
    static func run() async throws {
        let (a, b) = try Connection.pipe()
        let oldFD = b.fileDescriptors[0]
        let first = Task { try? await b.receiveBytes() }
        try await Task.sleep(for: .milliseconds(300))
        b.close()
        a.close()
        var made: [(Connection, Connection)] = []
        var reused: (Connection, Connection)?
        for _ in 0..<64 where reused == nil {
            let pair = try Connection.pipe()
            if pair.1.fileDescriptors[0] == oldFD { reused = pair } else if pair.0.fileDescriptors[0] == oldFD { reused = (pair.1, pair.0) } else { made.append(pair) }
        }
        print("reused \(reused == nil ? "no" : "yes")")
        guard let (sender, receiver) = reused else { return }
        let second = Task { try await receiver.receive(Int.self) }
        try await Task.sleep(for: .milliseconds(300))
        try sender.send(42)
        let got = try? await second.value
        print("got \(got.map { "\($0)" } ?? "none")")
        _ = await first.value
        for (x, y) in made { x.close(); y.close() }
    }
}
