// Lock hand-off latency: two processes pass ownership back and forth through two binary
// semaphores (A: parent releases, child acquires; B: child releases, parent acquires), so every
// round trip is two cross-process hand-offs. Forkline's `Semaphore` (with and without a brief
// spin before sleeping) beside a C futex ping-pong compiled at run time and CPython's
// `multiprocessing.Lock` used the same way (CPython lets another process release it). The
// uncontended rows run with the default spin (it never spins without a waiter).
import CForkline
import Forkline

#if canImport(Glibc)
import Glibc
#endif

enum LockBench {
    /// (spin iterations, yield every) pairs.
    static let spins = [(0, 0), (200, 0), (2000, 0), (2000, 32)]

    static func figures(quick: Bool) -> [Figure] {
        let n = quick ? 2_000 : 10_000
        let rounds = quick ? 3 : 5
        var figures: [Figure] = []
        let c = CPeer.build()
        let python = Python.find()
        for (spin, every) in spins {
            var ours: [Double] = [], peer: [Double] = []
            for _ in 0..<rounds {
                if let s = try? pingPong(n, spin: spin, yieldEvery: every) { ours.append(s) }
                if let c, let s = CPeer.run(c, n, spin: spin, yieldEvery: every) { peer.append(s) }
            }
            var label = every > 0 ? "spin \(spin), yield every \(every)" : "spin \(spin)"
            if (spin, every) == (Forkline.Semaphore.spin, Forkline.Semaphore.spinYieldEvery) { label += " (default)" }
            var f = Figure(name: "lock hand-off round trip, \(label)", unit: "us", ours: ours,
                           peerName: c == nil ? "C futex (cc unavailable)" : "C futex ping-pong, \(label)", peer: peer)
            if spin == 0, let python { f.python = (0..<rounds).compactMap { _ in pythonPingPong(python, quick ? 1_000 : 5_000) } }
            figures.append(f)
        }
        if let c { unlink(c) }
        if let traced = try? uncontended(n * 10, rounds: rounds) {
            figures.append(Figure(name: "semaphore acquire+release, uncontended, traced", unit: "ns", ours: traced.on,
                                  peerName: "the same, tracing off", peer: traced.off))
            figures.append(Figure(name: "record one semAcquire event (33 bytes)", unit: "ns", ours: traced.event,
                                  peerName: "a static mark, same process", peer: traced.mark))
        }
        return figures
    }

    /// ns per uncontended acquire+release pair, with tracing off and on (two events per pair),
    /// measured in a fork child that turns tracing on itself (this process keeps it off).
    static func uncontended(_ n: Int, rounds: Int) throws -> (off: [Double], on: [Double], event: [Double], mark: [Double]) {
        let results = try SharedValue(Results())
        let dir = "/tmp/forkline-lockbench-trace-\(getpid())"
        let child = ChildProcess {
            guard let sem = try? Forkline.Semaphore(value: 1) else { return }
            func pairs() -> Double {
                let t0 = fl_monotonic_ns()
                for _ in 0..<n {
                    sem.acquire()
                    try? sem.release()
                }
                return Double(fl_monotonic_ns() - t0) / Double(n)
            }
            var r = Results()
            for i in 0..<min(rounds, 8) { r.off[i] = pairs() }
            guard (try? Tracer.start(directory: dir)) != nil else { return }
            for i in 0..<min(rounds, 8) {
                r.on[i] = pairs()
                var t0 = fl_monotonic_ns()
                for k in 0..<n { Tracer.recordWords(.semAcquire, 0x5E4, UInt64(k), 1, 2) }
                r.event[i] = Double(fl_monotonic_ns() - t0) / Double(n)
                t0 = fl_monotonic_ns()
                for _ in 0..<n { Tracer.mark("a static label") }
                r.mark[i] = Double(fl_monotonic_ns() - t0) / Double(n)
            }
            results.store(r)
        }
        try child.start()
        _ = try child.join(timeout: .seconds(120))
        _ = system("rm -rf \(dir)")
        let r = results.load()
        let k = min(rounds, 8)
        return ((0..<k).map { r.off[$0] }, (0..<k).map { r.on[$0] }, (0..<k).map { r.event[$0] }, (0..<k).map { r.mark[$0] })
    }

    /// Up to 8 samples each, in shared memory.
    struct Results: BitwiseCopyable, Sendable {
        var off = InlineSamples()
        var on = InlineSamples()
        var event = InlineSamples()
        var mark = InlineSamples()
    }

    struct InlineSamples: BitwiseCopyable, Sendable {
        var storage: (Double, Double, Double, Double, Double, Double, Double, Double) = (0, 0, 0, 0, 0, 0, 0, 0)
        subscript(i: Int) -> Double {
            get { withUnsafeBytes(of: storage) { $0.load(fromByteOffset: i * 8, as: Double.self) } }
            set { withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: newValue, toByteOffset: i * 8, as: Double.self) } }
        }
    }

    /// Microseconds per round trip through two Forkline semaphores between this process and a
    /// fork child.
    static func pingPong(_ n: Int, spin: Int, yieldEvery: Int) throws -> Double {
        let saved = (Forkline.Semaphore.spin, Forkline.Semaphore.spinYieldEvery)
        Forkline.Semaphore.spin = spin
        Forkline.Semaphore.spinYieldEvery = yieldEvery
        defer { (Forkline.Semaphore.spin, Forkline.Semaphore.spinYieldEvery) = saved }
        let a = try Forkline.Semaphore(value: 0), b = try Forkline.Semaphore(value: 0)
        let child = ChildProcess {
            for _ in 0..<(n + 100) {
                a.acquire()
                try? b.release()
            }
        }
        try child.start()
        for _ in 0..<100 { try a.release(); b.acquire() }  // warm-up
        let t0 = fl_monotonic_ns()
        for _ in 0..<n { try a.release(); b.acquire() }
        let dt = fl_monotonic_ns() - t0
        _ = try child.join(timeout: .seconds(60))
        return Double(dt) / Double(n) / 1000
    }

    /// CPython: two `multiprocessing.Lock`s (fork context) ping-ponged the same way; us per round trip.
    static func pythonPingPong(_ python: String, _ n: Int) -> Double? {
        let script = """
        import multiprocessing as mp, time
        def child(a, b, n):
            for _ in range(n): a.acquire(); b.release()
        if __name__ == '__main__':
            ctx = mp.get_context('fork')
            a = ctx.Lock(); b = ctx.Lock(); a.acquire(); b.acquire()
            p = ctx.Process(target=child, args=(a, b, \(n + 100))); p.start()
            for _ in range(100): a.release(); b.acquire()
            t = time.perf_counter()
            for _ in range(\(n)): a.release(); b.acquire()
            dt = time.perf_counter() - t
            p.join()
            print(dt / \(n) * 1e6)
        """
        return Shell.numbers(script: script, suffix: "py", command: { "\(python) \($0)" }).first
    }
}

/// The C peer: two futex words in MAP_SHARED memory, a fork child, the same ping-pong, with an
/// optional spin on the word before FUTEX_WAIT.
enum CPeer {
    static let source = """
    #define _GNU_SOURCE
    #include <linux/futex.h>
    #include <sched.h>
    #include <stdatomic.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <sys/mman.h>
    #include <sys/syscall.h>
    #include <sys/wait.h>
    #include <time.h>
    #include <unistd.h>
    static int spin, every;
    static void post(_Atomic unsigned *w) { atomic_store(w, 1); syscall(SYS_futex, w, FUTEX_WAKE, 1, 0, 0, 0); }
    static void take(_Atomic unsigned *w) {
      for (;;) {
        unsigned one = 1;
        if (atomic_compare_exchange_strong(w, &one, 0)) return;
        for (int i = 0; i < spin && atomic_load(w) == 0; i++) {
          if (every > 0 && i % every == every - 1) sched_yield(); else __builtin_ia32_pause();
        }
        if (atomic_load(w) == 0) syscall(SYS_futex, w, FUTEX_WAIT, 0, 0, 0, 0);
      }
    }
    int main(int argc, char **argv) {
      int n = atoi(argv[1]); spin = atoi(argv[2]); every = atoi(argv[3]);
      _Atomic unsigned *w = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      pid_t pid = fork();
      if (pid == 0) { for (int i = 0; i < n + 100; i++) { take(&w[0]); post(&w[16]); } _exit(0); }
      for (int i = 0; i < 100; i++) { post(&w[0]); take(&w[16]); }
      struct timespec a, b;
      clock_gettime(CLOCK_MONOTONIC, &a);
      for (int i = 0; i < n; i++) { post(&w[0]); take(&w[16]); }
      clock_gettime(CLOCK_MONOTONIC, &b);
      waitpid(pid, 0, 0);
      printf("%f\\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
      return 0;
    }
    """

    /// Compiles the peer with `cc -O2`; returns the binary's path, or nil without a compiler.
    static func build() -> String? {
        let base = "/tmp/forkline-lockbench-\(getpid())"
        guard Shell.write(source, to: base + ".c") else { return nil }
        defer { unlink(base + ".c") }
        return system("cc -O2 -o \(base) \(base).c 2>/dev/null") == 0 ? base : nil
    }

    static func run(_ binary: String, _ n: Int, spin: Int, yieldEvery: Int) -> Double? {
        Shell.numbers(of: "\(binary) \(n) \(spin) \(yieldEvery)").first
    }
}
