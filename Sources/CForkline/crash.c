// The crash writer: records a `crash` event with a backtrace, then ends a Forkline child at once
// by the crash's signal, or chains to whatever handler was installed before (the Swift runtime's,
// or the default action) in the root process. CForkline.h says which and why.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

void *fl_trace_reserve_in_signal(uint16_t kind, uint32_t payload_len);

#define MAX_FRAMES 64
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP};
#define NCRASH (int)(sizeof crash_signals / sizeof crash_signals[0])
// One struct: a fork child writes all of it (fl_crash_become_child), and on one page that is one
// copy-on-write fault instead of two (as separate statics the linker put the alternate stack
// between them). Aligned so that its ~1 KiB never straddles two pages.
static struct __attribute__((aligned(1024))) {
  struct sigaction saved[NCRASH];
  int installed;
  int child_mode;       // a Forkline child: end at once after recording
  int keep_report;      // ... unless it opted into the Swift runtime's report
  atomic_int crasher;   // tid of the first thread to crash, 0 before any
} cs;
static char main_altstack[64 * 1024];

static int slot(int sig) {
  for (int i = 0; i < NCRASH; i++)
    if (crash_signals[i] == sig) return i;
  return -1;
}

static void *_Atomic report_area = NULL;  // fl_crash_set_report_area
static _Atomic size_t report_len = 0;

void fl_crash_set_report_area(void *p, size_t len) {
  atomic_store(&report_area, NULL);
  atomic_store(&report_len, p ? len : 0);
  atomic_store(&report_area, p);
}

// Copies the crash into the registered area (layout: CForkline.h), the state word last.
static void write_report(int32_t sig, int32_t code, uint64_t addr, uint64_t pc, const uint64_t *frames, int count) {
  char *a = atomic_load(&report_area);
  size_t len = atomic_load(&report_len);
  if (!a || len < FL_CRASH_REPORT_HEADER) return;
  int fit = (int)((len - FL_CRASH_REPORT_HEADER) / 8);
  uint16_t c = count < 0 ? 0xFFFF : (uint16_t)(count < fit ? count : fit);
  memcpy(a + 4, &sig, 4);
  memcpy(a + 8, &code, 4);
  memcpy(a + 12, &c, 2);
  memcpy(a + 16, &addr, 8);
  memcpy(a + 24, &pc, 8);
  if (c != 0xFFFF && c > 0) memcpy(a + FL_CRASH_REPORT_HEADER, frames, 8u * c);
  __atomic_store_n((uint32_t *)(void *)a, 1u, __ATOMIC_RELEASE);
}

// Ends the process by `sig` with its default action (terminate, core): every thread ends with it.
static void die_by(int sig) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(sig, &dfl, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
  raise(sig);
  // Not reached: the default action of every crash signal ends the process.
  syscall(SYS_exit_group, 128 + sig);
}

static void chain(int sig, siginfo_t *info) {
  int i = slot(sig);
  if (i >= 0) sigaction(sig, &cs.saved[i], NULL);
  // A signal sent with kill() (si_code <= 0) would not come back by returning: send it again.
  // It is blocked while this handler runs, so it arrives when we return.
  if (info && info->si_code <= 0) raise(sig);
}

static void handler(int sig, siginfo_t *info, void *uctx) {
  int saved_errno = errno;
  int me = (int)syscall(SYS_gettid);
  int first = 0;
  if (!atomic_compare_exchange_strong(&cs.crasher, &first, me)) {
    // Another crash is being handled. On the same thread (a fault inside this handler): end now.
    // On another thread, in a child: the first crash ends the process; wait for it.
    if (first == me || (cs.child_mode && !cs.keep_report)) {
      if (first == me) die_by(sig);
      for (;;) pause();
    }
    chain(sig, info);
    errno = saved_errno;
    return;
  }
  fl_trace_silence();  // from here on no thread records: the crash is the process's last event
  uint64_t frames[MAX_FRAMES + 8];
  int n = fl_backtrace(frames, MAX_FRAMES + 8);
  uint64_t pc = 0;
#if defined(__x86_64__)
  if (uctx) pc = (uint64_t)((ucontext_t *)uctx)->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  if (uctx) pc = (uint64_t)((ucontext_t *)uctx)->uc_mcontext.pc;
#endif
  // Drop the frames of this handler and the signal trampoline: start at the faulting pc.
  int skip = 0;
  if (n > 0 && pc) {
    for (int i = 0; i < n; i++)
      if (frames[i] == pc) { skip = i; break; }
  }
  int count = n < 0 ? -1 : (n - skip > MAX_FRAMES ? MAX_FRAMES : n - skip);
  uint32_t payload = 4 + 4 + 8 + 8 + 2 + (count > 0 ? 8u * (uint32_t)count : 0);
  write_report(sig, info ? info->si_code : 0, info ? (uint64_t)(uintptr_t)info->si_addr : 0, pc, frames + skip, count);
  char *p = fl_trace_reserve_in_signal(FL_KIND_CRASH, payload);
  if (p) {
    int32_t s = sig, code = info ? info->si_code : 0;
    uint64_t addr = info ? (uint64_t)(uintptr_t)info->si_addr : 0;
    uint16_t c = count < 0 ? 0xFFFF : (uint16_t)count;  // 0xFFFF: backtrace unavailable
    memcpy(p, &s, 4);
    memcpy(p + 4, &code, 4);
    memcpy(p + 8, &addr, 8);
    memcpy(p + 16, &pc, 8);
    memcpy(p + 24, &c, 2);
    if (count > 0) memcpy(p + 26, frames + skip, 8u * (uint32_t)count);
    fl_trace_commit(p);
  }
  if (cs.child_mode && !cs.keep_report) die_by(sig);
  chain(sig, info);
  errno = saved_errno;
}

void fl_crash_thread_init(void) {
  stack_t cur;
  if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) return;
  stack_t ss;
  ss.ss_size = 64 * 1024;
  ss.ss_sp = malloc(ss.ss_size);
  ss.ss_flags = 0;
  if (ss.ss_sp) sigaltstack(&ss, NULL);
}

static __thread int thread_stack_ensured;

void fl_crash_thread_ensure(void) {
  if (thread_stack_ensured) return;
  thread_stack_ensured = 1;
  fl_crash_thread_init();
}

void fl_crash_install(void) {
  // Installed already (and not reset since, e.g. by a forkserver child resetting its signals)?
  struct sigaction now;
  if (cs.installed && sigaction(SIGSEGV, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
      now.sa_sigaction == handler)
    return;
  cs.installed = 1;
  stack_t cur;
  if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE)) {
    stack_t ss = {.ss_sp = main_altstack, .ss_size = sizeof main_altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
  }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < NCRASH; i++) sigaction(crash_signals[i], &sa, &cs.saved[i]);
}

void fl_crash_become_child(int keep_runtime_report) {
  cs.child_mode = 1;
  cs.keep_report = keep_runtime_report;
  atomic_store(&cs.crasher, 0);  // a fork child starts with no crash of its parent's
  fl_crash_install();
}

static void (*exit_callback)(int) = NULL;
static void exit_trampoline(int status, void *arg) {
  (void)arg;
  if (exit_callback) exit_callback(status);
}

void fl_on_exit(void (*callback)(int status)) {
  int first = exit_callback == NULL;
  exit_callback = callback;
  if (first) on_exit(exit_trampoline, NULL);
}
