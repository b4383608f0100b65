// The kernel side of the async bridge (Sources/ForklineSpawn/AsyncBridge*.swift): epoll keyed by
// a 64-bit token instead of a descriptor number, an eventfd to wake the monitor thread,
// futex_waitv to sleep on many futex words at once, and reads that never block.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"
#include "fl_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int fl_epoll_watch_token(int ep, int fd, uint64_t token) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = token};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int fl_epoll_watch_token_persistent(int ep, int fd, uint64_t token) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = token};
  return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int fl_epoll_wait_tokens(int ep, uint64_t *tokens, int max, int timeout_ms) {
  struct epoll_event evs[64];
  if (max > 64) max = 64;
  int n = epoll_wait(ep, evs, max, timeout_ms);
  if (n < 0) return -errno;
  for (int i = 0; i < n; i++) tokens[i] = evs[i].data.u64;
  return n;
}

int fl_eventfd(void) {
  int r = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return r >= 0 ? r : -errno;
}

int fl_dup_cloexec(int fd) {
  int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return r >= 0 ? r : -errno;
}

int fl_futex_waitv(uint32_t *const *words, const uint32_t *expected, const int *shared, int n,
                   uint64_t deadline_ns) {
  struct futex_waitv v[FUTEX_WAITV_MAX];
  if (n > FUTEX_WAITV_MAX) return -E2BIG;
  for (int i = 0; i < n; i++) {
    v[i].val = expected[i];
    v[i].uaddr = (uint64_t)(uintptr_t)words[i];
    v[i].flags = FUTEX_32 | (shared[i] ? 0 : FUTEX_PRIVATE_FLAG);
    v[i].__reserved = 0;
  }
  struct timespec ts, *tp = NULL;
  if (deadline_ns != 0) {
    ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
    ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
    tp = &ts;
  }
  long r = syscall(SYS_futex_waitv, v, (unsigned)n, 0u, tp, CLOCK_MONOTONIC);
  return r >= 0 ? (int)r : -errno;
}

int fl_futex_wake_private(uint32_t *word, int count) {
  return (int)fl_futex(word, FUTEX_WAKE_PRIVATE, (uint32_t)count, NULL, 0);
}

int fl_futex_wait_private(uint32_t *word, uint32_t expected) {
  long r = fl_futex(word, FUTEX_WAIT_PRIVATE, expected, NULL, 0);
  return r == 0 ? 0 : (int)r;
}

ssize_t fl_read_nowait(int fd, void *buf, size_t len) {
  ssize_t r;
  do r = recv(fd, buf, len, MSG_DONTWAIT); while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  if (errno != ENOTSOCK) return -errno;
  // A pipe: RWF_NOWAIT (Linux 5.x+) reads what is there without touching O_NONBLOCK, which
  // belongs to the open file description and so to every process sharing it.
  struct iovec v = {.iov_base = buf, .iov_len = len};
  do r = preadv2(fd, &v, 1, -1, RWF_NOWAIT); while (r < 0 && errno == EINTR);
  return r >= 0 ? r : -errno;
}

ssize_t fl_pipe_read_nowait(int fd, void *buf, size_t len) {
  struct iovec v = {.iov_base = buf, .iov_len = len};
  ssize_t r;
  do r = preadv2(fd, &v, 1, -1, RWF_NOWAIT); while (r < 0 && errno == EINTR);
  if (r >= 0) return r;
  if (errno == EAGAIN) return -EAGAIN;
  return fl_read_nowait(fd, buf, len);
}

int fl_epoll_ctl_del(int ep, int fd) { return epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL) == 0 ? 0 : -errno; }

uint32_t fl_atomic_load_u32(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }
void fl_atomic_add_u32(uint32_t *word, uint32_t delta) { __atomic_add_fetch(word, delta, __ATOMIC_SEQ_CST); }
uint32_t fl_atomic_exchange_u32(uint32_t *word, uint32_t value) { return __atomic_exchange_n(word, value, __ATOMIC_SEQ_CST); }
int fl_atomic_cas_u32(uint32_t *word, uint32_t expected, uint32_t desired) {
  return __atomic_compare_exchange_n(word, &expected, desired, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}
