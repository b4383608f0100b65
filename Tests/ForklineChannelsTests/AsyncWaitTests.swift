import CForkline
import Foundation
import ForklineChannels
import ForklineSpawn
import ForklineTestSupport
import Synchronization
import Testing
import ForklineSystem

/// The result of `operation`, or nil when it has not finished within `seconds`. The deadline is
/// kept by a plain thread, so it fires even if every cooperative thread is blocked and even if
/// the operation never resumes (the hung task is then left behind).
func finished<T: Sendable>(within seconds: Double, _ operation: @escaping @Sendable () async -> T) async -> T? {
    let once = Once<T>()
    return await withCheckedContinuation { (c: CheckedContinuation<T?, Never>) in
        once.continuation = c
        Thread.detachNewThread { Thread.sleep(forTimeInterval: seconds); once.resume(nil) }
        Task.detached { once.resume(await operation()) }
    }
}

final class Once<T: Sendable>: @unchecked Sendable {
    // @unchecked: `continuation` is behind `lock`.
    let lock = NSLock()
    var continuation: CheckedContinuation<T?, Never>?
    func resume(_ value: T?) {
        lock.lock()
        let c = continuation
        continuation = nil
        lock.unlock()
        c?.resume(returning: value)
    }
}

final class Flag: Sendable {
    let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .sequentiallyConsistent) }
    var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
}

final class TID: Sendable {
    let value = Atomic<Int32>(0)
}

/// The code of the ChannelError an async call threw, or nil when it returned.
func channelErrorCode(_ body: @escaping @Sendable () async throws -> Void) async -> String? {
    do { try await body(); return nil } catch let e as ChannelError { return e.code.description } catch { return "\(type(of: error))" }
}

@Suite("Async waits end on their event, on close, on monitor failure and on cancellation")
struct AsyncWaitTests {
    @Test("a Connection closed while a task awaits receive resumes that task with closed")
    func closeResumesReceiver() async throws {
        let (a, b) = try Connection.pipe()
        let receiver = Task { await channelErrorCode { _ = try await b.receiveBytes() } }
        try await Task.sleep(for: .milliseconds(300))  // let it suspend (if it has not, close still must end it)
        b.close()
        let code = await finished(within: 60) { await receiver.value }
        #expect(code == .some("closed"), "the receive did not resume with closed: \(String(describing: code))")
        a.close()
    }

    // In a process of its own (the fixture): in this shared test process other tests take the
    // closed descriptor number first (seen in a fresh-clone CI run).
    @Test("after a receiver's connection was closed, a waiter on the reused descriptor number is armed")
    func reusedNumberIsArmed() throws {
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["async-reused-fd"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines == ["reused yes", "got 42"], "the waiter on the reused descriptor was never woken: \(out.lines)")
    }

    @Test("a monitor failure resumes every waiter, on descriptors and on futexes, with an error; later waits work")
    func monitorFailureResumesAll() async throws {
        let bridge = AsyncBridge()  // a bridge of its own: other suites keep using the shared one
        var fds: [Int32] = [-1, -1]
        #expect(pipe(&fds) == 0)
        let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        word.initialize(to: 7)
        nonisolated(unsafe) let shared = word
        let (readFD, writeFD) = (fds[0], fds[1])
        let onFD = Task { () -> WaitFailure? in
            do throws(WaitFailure) { try await bridge.waitReadable(readFD); return nil } catch { return error }
        }
        let onFutex = Task { () -> WaitFailure? in
            do throws(WaitFailure) { _ = try await bridge.waitFutex(shared, expected: 7, deadline: 0); return nil } catch { return error }
        }
        try await Task.sleep(for: .milliseconds(300))
        bridge.injectMonitorFailureForTesting()
        let fdResult = await finished(within: 60) { await onFD.value }
        let futexResult = await finished(within: 60) { await onFutex.value }
        #expect(fdResult == Optional(Optional(WaitFailure.monitorFailed(call: "epoll_wait", errno: EBADF))))
        #expect(futexResult == Optional(Optional(WaitFailure.monitorFailed(call: "epoll_wait", errno: EBADF))))
        #expect(bridge.isFailed)
        // A wait on the failed bridge fails at once; the shared bridge is unaffected.
        let late = await finished(within: 60) { () -> WaitFailure? in
            do throws(WaitFailure) { try await bridge.waitReadable(readFD); return nil } catch { return error }
        }
        #expect(late == Optional(Optional(WaitFailure.monitorFailed(call: "epoll_wait", errno: EBADF))))
        _ = write(writeFD, "x", 1)
        let fresh = await finished(within: 60) { () -> Bool in (try? await AsyncBridge.shared().waitReadable(readFD)) != nil }
        #expect(fresh == .some(true))
        close(readFD); close(writeFD)
    }

    @Test("cancelling a task in an async Semaphore.acquire, Event.wait, receive, queue get or put resumes it with cancelled",
          arguments: ["semaphore", "event", "receive", "queue-get", "queue-put"])
    func cancellation(what: String) async throws {
        let sem = try Semaphore(value: 0)
        let event = try Event()
        let (a, b) = try Connection.pipe()
        let queue = try Queue<Int>(maxSize: 1)
        if what == "queue-put" { try queue.putNowait(1) }
        let waiting = Task { () -> String? in
            await channelErrorCode {
                switch what {
                case "semaphore": _ = try await sem.acquire()
                case "event": _ = try await event.wait()
                // No timeout: only the cancellation can end these waits.
                case "queue-get": _ = try await queue.get()
                case "queue-put": try await queue.put(2)
                default: _ = try await b.receiveBytes()
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        waiting.cancel()
        let code = await finished(within: 60) { await waiting.value }
        #expect(code == .some("cancelled"), "\(what): \(String(describing: code))")
        // Nothing was taken or lost: the primitive still works.
        try sem.release()
        #expect(sem.tryAcquire())
        try a.sendBytes([9])
        #expect(try await b.receiveBytes() == [9])
    }

    // In a process of its own (the fixture): in this shared test process, other tests' blocking
    // calls can hold the cooperative pool's two threads longer than the check waits.
    @Test("async receives of frames whose bodies arrive slowly leave the cooperative pool free")
    func slowBodiesDoNotBlockThreads() throws {
        let out = try TestSupport.run(TestSupport.executable("forkline-fixture"), ["async-slow-bodies"], timeout: 120)
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.lines.contains("received 16"), "\(out.lines)")
        #expect(out.lines.contains("progressed yes"), "no other task ran while the bodies were awaited")
    }

    @Test("a second sender sleeps while the first is blocked on a full pipe")
    func secondSenderSleeps() throws {
        let (reader, writer) = try Connection.pipe(duplex: false)
        let big = [UInt8](repeating: 1, count: 1 << 20)  // far more than a pipe holds: blocks
        let tid = TID()
        let first = Thread { try? writer.sendBytes(big) }
        first.start()
        Thread.sleep(forTimeInterval: 0.3)
        let second = Thread {
            tid.value.store(fl_gettid(), ordering: .sequentiallyConsistent)
            try? writer.sendBytes([2])
        }
        second.start()
        Thread.sleep(forTimeInterval: 0.3)
        let t = tid.value.load(ordering: .sequentiallyConsistent)
        let before = try threadCPUTicks(t)
        Thread.sleep(forTimeInterval: 2)
        let used = try threadCPUTicks(t) - before
        // A thread asleep uses nothing; the old spin lock used most of a CPU (see the commit).
        #expect(used < 10, "the waiting sender used \(used) ticks (1/100 s) of CPU in 2 s")
        // Drain: both frames arrive whole, in some order.
        var got: [Int] = []
        for _ in 0..<2 { got.append(try reader.receiveBytes()?.count ?? -1) }
        #expect(got.sorted() == [1, 1 << 20])
    }
}

/// utime + stime of thread `tid` of this process, in clock ticks (/proc/self/task/TID/stat).
func threadCPUTicks(_ tid: Int32) throws -> Int {
    let stat = try String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8)
    let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
    return Int(fields[11])! + Int(fields[12])!  // fields 14 and 15 of the whole line
}
