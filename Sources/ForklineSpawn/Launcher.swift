import CForkline
import ForklineTrace
import Synchronization
import ForklineSystem

#if canImport(Glibc)
import Glibc
#endif

/// Runs forks and spawns on a thread that lives as long as the process.
///
/// PR_SET_PDEATHSIG fires when the *thread* that created the child exits, not the process: a
/// child forked from a Dispatch worker or a Swift task's thread would be killed when that thread
/// retires. The main thread and this launcher thread live until the process ends, so children
/// are started from one of them.
enum Launcher {
    final class Job: @unchecked Sendable {
        // @unchecked: `work` and `done` are handed from the caller to the launcher thread and back
        // through the semaphore, which orders every access.
        var work: () -> Void
        var done = sem_t()
        init(_ work: @escaping () -> Void) {
            self.work = work
            sem_init(&done, 0, 0)
        }
        deinit { sem_destroy(&done) }
    }

    struct State {
        var started = false
        var queue: [Job] = []
    }

    nonisolated(unsafe) static var wakeup = sem_t()
    static let state = ForkSafeLock(State())

    /// The launcher thread's id once it runs (a job that starts a child runs inline there).
    static let launcherTid = Atomic<Int32>(0)
    /// Whether this process ever submitted a job: a fork child of a process that never did has
    /// nothing to reset (and writes nothing: each page a child writes is a copy-on-write fault).
    static let everStarted = Atomic<Bool>(false)

    /// Whether the calling thread is the main thread (its tid is the process's pid, `pid`) or
    /// the launcher thread.
    static func onLongLivedThread(pid: Int32) -> Bool {
        let tid = fl_gettid()
        return tid == pid || tid == launcherTid.load(ordering: .relaxed)
    }

    /// Runs `body` on the main thread (if called there) or on the launcher thread. `pid`: this
    /// process's, when the caller has it (`start` reads it once for all its steps).
    static func run<T>(pid: Int32 = fl_getpid(), _ body: () throws(SpawnError) -> T) throws(SpawnError) -> T {
        if onLongLivedThread(pid: pid) { return try body() }
        var result: Result<T, SpawnError>?
        withoutActuallyEscaping(body) { body in
            let job = Job {
                do throws(SpawnError) { result = .success(try body()) } catch { result = .failure(error) }
            }
            submit(job)
            while sem_wait(&job.done) != 0 && errno == EINTR {}
        }
        return try result!.get()
    }

    static func submit(_ job: Job) {
        // Set before the state: a child forked in between resets a launcher that never ran.
        everStarted.store(true, ordering: .releasing)
        let start = state.withLock { s in
            s.queue.append(job)
            defer { s.started = true }
            return !s.started
        }
        if start {
            sem_init(&wakeup, 0, 0)
            var tid = pthread_t()
            let rc = pthread_create(&tid, nil, { _ in Launcher.loop(); return nil }, nil)
            precondition(rc == 0, "forkline: cannot create the launcher thread (errno \(rc))")
            pthread_detach(tid)
        }
        sem_post(&wakeup)
    }

    static func loop() {
        launcherTid.store(fl_gettid(), ordering: .relaxed)
        fl_crash_thread_init()
        while true {
            while sem_wait(&wakeup) != 0 && errno == EINTR {}
            let jobs = state.withLock { s in
                defer { s.queue.removeAll() }
                return s.queue
            }
            for job in jobs {
                job.work()
                job.work = {}  // the caller's closure must not outlive its withoutActuallyEscaping
                sem_post(&job.done)
            }
        }
    }

    /// In a fork child: the launcher thread did not survive the fork.
    static func resetAfterFork() {
        guard everStarted.load(ordering: .acquiring) else { return }
        everStarted.store(false, ordering: .relaxed)
        launcherTid.store(0, ordering: .relaxed)
        state.release()  // a parent thread may have held it at the fork; it has no owner here
        state.withLock { s in
            s.started = false
            s.queue = []
        }
    }
}
