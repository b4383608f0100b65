// libunwind, loaded at run time with RTLD_LOCAL: linking -lunwind would make it interpose
// `_Unwind_*` for the whole process (C++ throw/catch 1.9 us -> 51 us measured here), and a
// missing library must degrade to "backtrace unavailable", never stop the program.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef int (*unw_backtrace_fn)(void **, int);
static _Atomic(unw_backtrace_fn) backtrace_fn = NULL;
static atomic_int load_state = 0;  // 0 not tried, 1 loaded, 2 unavailable

// libunwind checks each address it reads by writing it to a pipe it opens at its first capture
// (and reopens only when a read from that pipe fails). A child that closed the pipe and reused
// its numbers for its own files left libunwind reading a file and writing to a read-only
// descriptor: every check failed and crash backtraces came back empty. So the pipe is found
// once, made to sit above the descriptors a forkserver child remaps (0-2 and 3.. for passed
// ones), and kept open in every child (fl_close_fds_from keeps it).
#define FL_UNWIND_LOW_FDS (3 + FL_MAX_PASSED_FDS)
static int pipe_fds[2] = {-1, -1};

static int is_pipe_pair(int r, int w) {
  struct stat a, b;
  if (fstat(r, &a) != 0 || fstat(w, &b) != 0) return 0;
  if (!S_ISFIFO(a.st_mode) || a.st_ino != b.st_ino || a.st_dev != b.st_dev) return 0;
  return (fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY && (fcntl(w, F_GETFL) & O_ACCMODE) == O_WRONLY;
}

// The first capture, with every free descriptor below FL_UNWIND_LOW_FDS held meanwhile: the pipe
// libunwind opens takes the two lowest free numbers above, which are predicted and then checked.
static void warm_up(unw_backtrace_fn fn) {
  int held[FL_UNWIND_LOW_FDS + 1];
  int nheld = 0;
  int base = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (base >= 0) {
    held[nheld++] = base;
    for (;;) {
      int fd = fcntl(base, F_DUPFD_CLOEXEC, 0);
      if (fd < 0) break;
      if (fd >= FL_UNWIND_LOW_FDS) { close(fd); break; }
      held[nheld++] = fd;
    }
  }
  int r = base >= 0 ? fcntl(base, F_DUPFD_CLOEXEC, FL_UNWIND_LOW_FDS) : -1;
  int w = base >= 0 ? fcntl(base, F_DUPFD_CLOEXEC, FL_UNWIND_LOW_FDS) : -1;
  if (r >= 0) close(r);
  if (w >= 0) close(w);
  void *warm[4];
  fn(warm, 4);  // the first capture in a process costs ~170 us: pay it here, not in a crash
  if (r >= 0 && w >= 0 && is_pipe_pair(r, w)) {
    pipe_fds[0] = r;
    pipe_fds[1] = w;
  }
  for (int i = 0; i < nheld; i++) close(held[i]);
}

int fl_unwind_load(void) {
  int s = atomic_load(&load_state);
  if (s) return s == 1;
  const char *off = getenv("FORKLINE_NO_LIBUNWIND");
  void *h = NULL;
  if (!(off && off[0] && strcmp(off, "0") != 0)) {
    h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libunwind.so", RTLD_NOW | RTLD_LOCAL);
  }
  unw_backtrace_fn fn = h ? (unw_backtrace_fn)dlsym(h, "unw_backtrace") : NULL;
  if (fn) {
    warm_up(fn);
    atomic_store(&backtrace_fn, fn);
  }
  atomic_store(&load_state, fn ? 1 : 2);
  return fn != NULL;
}

int fl_unwinder_fds(int out[2]) {
  out[0] = pipe_fds[0];
  out[1] = pipe_fds[1];
  return pipe_fds[0] >= 0 ? 2 : 0;
}

int fl_backtrace(uint64_t *frames, int max) {
  unw_backtrace_fn fn = atomic_load(&backtrace_fn);
  if (!fn) return -1;
  return fn((void **)frames, max);
}
