// Process-shared futexes: the sleeping half of Forkline's semaphores, events, conditions and
// barriers. FUTEX_PRIVATE_FLAG is deliberately absent: the words live in memfd shared memory
// mapped by several processes, and a private futex is keyed by the process's own address space.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"
#include "fl_internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int fl_futex_wait(uint32_t *word, uint32_t expected, uint64_t deadline_ns) {
  struct timespec ts, *tp = NULL;
  if (deadline_ns != 0) {
    ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
    ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
    tp = &ts;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so retries never stretch it.
  long r = fl_futex(word, FUTEX_WAIT_BITSET, expected, tp, FUTEX_BITSET_MATCH_ANY);
  return r == 0 ? 0 : (int)r;
}

int fl_futex_wake(uint32_t *word, int count) {
  return (int)fl_futex(word, FUTEX_WAKE, (uint32_t)count, NULL, 0);
}

void fl_cpu_relax(void) { fl_pause(); }
