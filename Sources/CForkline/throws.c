// Where a Swift error was thrown: the Swift runtime calls the hook `_swift_willThrow` (untyped
// throws) or `_swift_willThrowTypedImpl` (typed throws) at every `throw` when it is set (it is
// the debuggers' breakpoint hook; swift-testing uses it the same way). A pool worker installs
// these so the error a task throws comes back with the stack of its throw site: the last throw
// of the thread is kept in thread-local storage, taken by the worker when the task fails.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <dlfcn.h>
#include <string.h>

typedef void (*fl_will_throw_fn)(void *error);
typedef void (*fl_will_throw_typed_fn)(const void *value, const void *type, const void *conformance);

// Exported by libswiftCore (plain pointers, atomics in the runtime's C++: the same layout).
extern fl_will_throw_fn _swift_willThrow;
extern fl_will_throw_typed_fn _swift_willThrowTypedImpl;

static fl_will_throw_fn previous_hook;
static fl_will_throw_typed_fn previous_typed_hook;
static int installed;

static _Thread_local uint64_t last_frames[FL_THROW_FRAMES];
static _Thread_local int last_count;

static void capture(void) {
  int n = fl_backtrace(last_frames, FL_THROW_FRAMES);
  last_count = n < 0 ? 0 : n;
}

static void on_throw(void *error) {
  capture();
  if (previous_hook) previous_hook(error);
}

static void on_throw_typed(const void *value, const void *type, const void *conformance) {
  capture();
  if (previous_typed_hook) previous_typed_hook(value, type, conformance);
}

int fl_throw_capture_install(void) {
  if (installed) return 1;
  if (!fl_unwind_load()) return 0;
  installed = 1;
  previous_hook = __atomic_exchange_n(&_swift_willThrow, on_throw, __ATOMIC_ACQ_REL);
  previous_typed_hook = __atomic_exchange_n(&_swift_willThrowTypedImpl, on_throw_typed, __ATOMIC_ACQ_REL);
  return 1;
}

void fl_throw_capture_clear(void) { last_count = 0; }

int fl_throw_capture_take(uint64_t *frames, int max) {
  int n = last_count < max ? last_count : max;
  memcpy(frames, last_frames, (size_t)n * sizeof(uint64_t));
  last_count = 0;
  return n;
}

int fl_symbol_of(uint64_t address, const char **symbol, const char **file, uint64_t *symbol_start, uint64_t *file_base) {
  Dl_info info;
  memset(&info, 0, sizeof info);
  if (!dladdr((void *)(uintptr_t)address, &info)) return 0;
  *symbol = info.dli_sname;
  *file = info.dli_fname;
  *symbol_start = (uint64_t)(uintptr_t)info.dli_saddr;
  *file_base = (uint64_t)(uintptr_t)info.dli_fbase;
  return 1;
}
