// The recorder's clock: CLOCK_MONOTONIC nanoseconds, read from the TSC when the kernel itself
// keeps CLOCK_MONOTONIC with it. clock_gettime's vDSO path orders its rdtsc (lfence; rdtsc) and
// costs 23 ns here against 10 ns for a plain rdtsc, and it was a third of recording an event
// (perf: 31% of the C recording path in __vdso_clock_gettime). So the recorder reads the TSC and
// converts it with a rate it measures against clock_gettime itself: pairs of (TSC,
// CLOCK_MONOTONIC) read back to back, a new one every 2 ms of TSC at least, the rate taken over
// the whole span since the first pair. Between two pairs a time is the last pair's time plus the
// TSC's advance at that rate, so it stays within the pair's error (~20 ns) plus the rate's error
// over 2 ms (below 50 ns once the first 2 ms are past) of what clock_gettime would have said;
// before a first rate is known, and when the TSC is not the kernel's clocksource (its readings
// may then differ between CPUs), every read is clock_gettime. Times never decrease: each is at
// least the previous one.
//
// Not thread-safe: the recorder calls it under its lock (and the crash writer under the same
// lock, in a signal handler: rdtsc and the vDSO's clock_gettime are async-signal-safe).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#endif

#define ANCHOR_CYCLES_GUESS (2u * 1000u * 1000u * 3u)  // ~2 ms at 3 GHz until the rate is known
#define PAIR_MAX_CYCLES 400u  // a pair read across an interruption (or a slow vDSO read) is discarded

static struct {
  int mode;             // 0 unknown, 1 TSC usable, -1 clock_gettime only
  uint64_t first_tsc, first_ns;   // the first good pair: the rate's baseline
  uint64_t anchor_tsc, anchor_ns; // the latest good pair
  uint64_t mult;                  // ns per cycle, 32.32 fixed point; 0 until known
  uint64_t span;                  // cycles between anchors (~2 ms)
  uint64_t last;                  // the last time returned
} C;

static uint64_t monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t at_least_last(uint64_t t) {
  if (t < C.last) t = C.last;
  C.last = t;
  return t;
}

#if defined(__x86_64__)
// The kernel keeps CLOCK_MONOTONIC with the TSC (so it found the TSC invariant and in step on
// every CPU), and the CPU says its TSC is invariant.
static int tsc_usable(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(0x80000007, &a, &b, &c, &d) || !(d & (1u << 8))) return 0;
  int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[16] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  return n >= 3 && memcmp(buf, "tsc", 3) == 0 && (n == 3 || buf[3] == '\n');
}

// A (TSC, CLOCK_MONOTONIC) pair read back to back; 0 when a preemption came between them.
static int read_pair(uint64_t *tsc, uint64_t *ns) {
  uint64_t c1 = __rdtsc();
  uint64_t t = monotonic_ns();
  uint64_t c2 = __rdtsc();
  if (c2 < c1 || c2 - c1 > PAIR_MAX_CYCLES) return 0;
  *tsc = c1 + (c2 - c1) / 2;
  *ns = t;
  return 1;
}

// Slow path: no rate yet, or the last pair is older than `span`: read a new pair and use it.
static uint64_t reanchor(void) {
  uint64_t tsc, ns;
  if (!read_pair(&tsc, &ns)) return at_least_last(monotonic_ns());
  if (C.first_tsc == 0) {
    C.first_tsc = tsc;
    C.first_ns = ns;
  } else if (tsc > C.first_tsc + ANCHOR_CYCLES_GUESS && ns > C.first_ns) {
    // The rate over the whole span since the first pair: its error shrinks as the span grows.
    unsigned __int128 m = ((unsigned __int128)(ns - C.first_ns) << 32) / (tsc - C.first_tsc);
    C.mult = (uint64_t)m;
    // A new pair every 2 ms of this TSC's cycles.
    C.span = C.mult ? (uint64_t)((2000000ull << 32) / C.mult) : ANCHOR_CYCLES_GUESS;
  }
  C.anchor_tsc = tsc;
  C.anchor_ns = ns;
  return at_least_last(ns);
}
#endif

uint64_t fl_trace_clock_ns(void) {
#if defined(__x86_64__)
  if (C.mode == 0) C.mode = tsc_usable() ? 1 : -1;
  if (C.mode > 0) {
    uint64_t now = __rdtsc();
    if (C.mult != 0 && now >= C.anchor_tsc && now - C.anchor_tsc < C.span) {
      uint64_t t = C.anchor_ns + (uint64_t)(((unsigned __int128)(now - C.anchor_tsc) * C.mult) >> 32);
      return at_least_last(t);
    }
    return reanchor();
  }
#endif
  return at_least_last(monotonic_ns());
}
