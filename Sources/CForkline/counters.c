// A per-thread count of page faults taken in user mode, from the kernel's software perf event:
// how a test proves that a hot path (the trace recorder's) takes no page fault, without timing
// anything. perf_event_open is a raw system call (no libc wrapper).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int fl_page_fault_counter_open(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_PAGE_FAULTS;
  // User-mode faults of this thread only: the faults a system call takes on its own behalf
  // (MADV_POPULATE_WRITE, MAP_POPULATE) are not counted, the stores that fault are.
  attr.exclude_kernel = 1;
  attr.exclude_hv = 1;
  long fd = syscall(SYS_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  return fd >= 0 ? (int)fd : -errno;
}

int64_t fl_page_fault_counter_read(int fd) {
  uint64_t value = 0;
  ssize_t n;
  do n = read(fd, &value, sizeof value); while (n < 0 && errno == EINTR);
  return n == (ssize_t)sizeof value ? (int64_t)value : -1;
}
