import CForkline
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A queue side's lock is an owner word (queue.c): the holder's thread id and start time. A
/// locker that finds it held past a sleep slice looks at the holder and takes the lock over from
/// a dead one. What "dead" means, with real processes: gone, a zombie, or its id now naming a
/// thread that started at another time (a reused id).
@Suite("A queue lock's holder is judged alive or dead")
struct QueueLockOwnerTests {
    @Test("the caller's word names it and it is alive; the same id with another start time is not")
    func caller() {
        let word = fl_queue_lock_word_of_caller()
        #expect(Int32(truncatingIfNeeded: word & 0x3fff_ffff) == fl_gettid())
        #expect(word >> 32 != 0, "the start time is recorded")
        #expect(fl_queue_lock_holder_alive(word) == 1)
        #expect(fl_queue_lock_holder_alive(word &+ (1 << 32)) == 0)
    }

    @Test("a running child is alive; SIGKILLed and not yet reaped (a zombie) it is dead; reaped, too")
    func child() throws {
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("600"), nil]
        defer { for a in argv { free(a) } }
        let rc = posix_spawn(&pid, "/bin/sleep", nil, nil, argv, environ)
        try #require(rc == 0)
        let word = UInt64(UInt32(pid))  // no start time recorded: only the id is looked at
        #expect(fl_queue_lock_holder_alive(word) == 1)
        kill(pid, SIGKILL)
        var info = siginfo_t()
        // Waits for the exit without reaping: the child is a zombie now.
        try #require(waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == 0)
        #expect(fl_queue_lock_holder_alive(word) == 0, "a zombie holds no lock")
        var status: Int32 = 0
        try #require(waitpid(pid, &status, 0) == pid)
        #expect(fl_queue_lock_holder_alive(word) == 0, "a reaped process holds no lock")
    }
}
