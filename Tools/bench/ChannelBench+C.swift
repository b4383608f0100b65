// The C peers of the channel figures, compiled at run time with `cc -O2` (sources to /tmp).
#if canImport(Glibc)
import Glibc
#endif

extension ChannelBench {
    enum C {
        /// Round trips of 8 bytes over a socketpair to a fork child that echoes: prints us per
        /// round trip, one figure per round. argv: trips rounds.
        static let pingPong = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/socket.h>
        #include <sys/wait.h>
        #include <time.h>
        #include <unistd.h>
        static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }
        int main(int argc, char **argv) {
          int n = atoi(argv[1]), rounds = atoi(argv[2]), sv[2]; long v = 0;
          socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
          if (fork() == 0) { close(sv[0]); while (read(sv[1], &v, 8) == 8) write(sv[1], &v, 8); _exit(0); }
          close(sv[1]);
          for (int i = 0; i < 100; i++) { write(sv[0], &v, 8); read(sv[0], &v, 8); }
          for (int r = 0; r < rounds; r++) {
            double t = now();
            for (int i = 0; i < n; i++) { write(sv[0], &v, 8); read(sv[0], &v, 8); }
            printf("%f ", (now() - t) / n);
          }
          close(sv[0]); wait(NULL); printf("\\n"); return 0;
        }
        """

        /// 1 MiB messages one way over a socketpair from a fork child (a length word, then the
        /// bytes; the parent reads each whole): prints MiB/s per round. argv: messages rounds.
        static let bandwidth = """
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>
        #include <sys/socket.h>
        #include <sys/wait.h>
        #include <time.h>
        #include <unistd.h>
        #define MSG (1 << 20)
        static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
        static int full(int fd, char *p, long n, int rd) {
          while (n > 0) { long k = rd ? read(fd, p, n) : write(fd, p, n); if (k <= 0) return -1; p += k; n -= k; }
          return 0;
        }
        int main(int argc, char **argv) {
          int n = atoi(argv[1]), rounds = atoi(argv[2]);
          char *buf = malloc(MSG);
          memset(buf, 7, MSG);
          for (int r = 0; r < rounds; r++) {
            int sv[2];
            socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
            if (fork() == 0) {
              close(sv[0]);
              for (int i = 0; i < n; i++) { int len = MSG; full(sv[1], (char *)&len, 4, 0); full(sv[1], buf, MSG, 0); }
              _exit(0);
            }
            close(sv[1]);
            double t = now();
            for (int i = 0; i < n; i++) { int len; full(sv[0], (char *)&len, 4, 1); full(sv[0], buf, len, 1); }
            printf("%f ", n / (now() - t));
            close(sv[0]); wait(NULL);
          }
          printf("\\n"); return 0;
        }
        """

        /// A single-producer single-consumer ring of u64 in shared memory between a fork child
        /// and its parent, both spinning: prints M items/s per round. argv: items rounds.
        static let ring = """
        #include <stdatomic.h>
        #include <stdint.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <sys/mman.h>
        #include <sys/wait.h>
        #include <time.h>
        #include <unistd.h>
        #define SLOTS 4096
        struct ring { _Alignas(64) _Atomic uint64_t head; _Alignas(64) _Atomic uint64_t tail; _Alignas(64) uint64_t v[SLOTS]; };
        static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
        int main(int argc, char **argv) {
          long n = atol(argv[1]); int rounds = atoi(argv[2]);
          for (int r = 0; r < rounds; r++) {
            struct ring *q = mmap(NULL, sizeof *q, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
            if (fork() == 0) {
              for (long i = 0; i < n; i++) {
                uint64_t t = atomic_load_explicit(&q->tail, memory_order_relaxed);
                while (t - atomic_load_explicit(&q->head, memory_order_acquire) >= SLOTS) ;
                q->v[t % SLOTS] = i;
                atomic_store_explicit(&q->tail, t + 1, memory_order_release);
              }
              _exit(0);
            }
            double t0 = 0; uint64_t sum = 0;
            for (long i = 0; i < n; i++) {
              uint64_t h = atomic_load_explicit(&q->head, memory_order_relaxed);
              while (atomic_load_explicit(&q->tail, memory_order_acquire) == h) ;
              sum += q->v[h % SLOTS];
              atomic_store_explicit(&q->head, h + 1, memory_order_release);
              if (i == 0) t0 = now();
            }
            printf("%f ", (n - 1) / (now() - t0) / 1e6);
            wait(NULL); munmap(q, sizeof *q);
            if (sum != (uint64_t)n * (n - 1) / 2) { fprintf(stderr, "lost items\\n"); return 1; }
          }
          printf("\\n"); return 0;
        }
        """
    }
}
