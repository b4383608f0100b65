// libunwind, loaded at run time with RTLD_LOCAL: linking -lunwind would make it interpose
// `_Unwind_*` for the whole process (C++ throw/catch 1.9 us -> 51 us measured here), and a
// missing library must degrade to "backtrace unavailable", never stop the program.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef int (*unw_backtrace_fn)(void **, int);
static _Atomic(unw_backtrace_fn) backtrace_fn = NULL;
static atomic_int load_state = 0;  // 0 not tried, 1 loaded, 2 unavailable

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
    void *warm[4];
    fn(warm, 4);  // the first capture in a process costs ~170 us: pay it here, not in a crash
    atomic_store(&backtrace_fn, fn);
  }
  atomic_store(&load_state, fn ? 1 : 2);
  return fn != NULL;
}

int fl_backtrace(uint64_t *frames, int max) {
  unw_backtrace_fn fn = atomic_load(&backtrace_fn);
  if (!fn) return -1;
  return fn((void **)frames, max);
}

// libunwind checks addresses by writing them to a pipe it opened once (and reopens it when a
// read from it fails). A child that closed its inherited descriptors leaves libunwind holding
// the pipe's old numbers; the next open() (the child's trace file) reuses one of them for a
// readable file, libunwind then thinks its pipe works, every check fails, and crash backtraces
// come back empty. One short unwind right after the close, while those numbers are still
// free, makes libunwind find its pipe gone and open a new one.
void fl_unwinder_after_close(void) {
  unw_backtrace_fn fn = atomic_load(&backtrace_fn);
  if (!fn) return;
  void *frames[4];
  (void)fn(frames, 4);
}
