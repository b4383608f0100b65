// Helpers the C files share (not part of the module's interface): the one futex system call and
// the one CPU pause hint, so every spin loop and futex wait in the C target is written once.
#ifndef FL_INTERNAL_H
#define FL_INTERNAL_H

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

// A CPU pause hint for spin loops (x86 `pause`, arm64 `yield`; nothing elsewhere).
static inline void fl_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// futex(word, op, val, timeout, NULL, val3): returns the call's result or -errno.
static inline long fl_futex(uint32_t *word, int op, uint32_t val, const struct timespec *timeout, uint32_t val3) {
  long r = syscall(SYS_futex, word, op, val, timeout, NULL, val3);
  return r >= 0 ? r : -errno;
}

#endif
