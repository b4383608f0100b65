// The crash writer: records a `crash` event with a backtrace, then chains to whatever handler
// was installed before (the Swift runtime's, or the default action).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

void *fl_trace_reserve_in_signal(uint16_t kind, uint32_t payload_len);

#define MAX_FRAMES 64
static const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE, SIGTRAP};
#define NCRASH (int)(sizeof crash_signals / sizeof crash_signals[0])
static struct sigaction saved[NCRASH];
static int installed = 0;
static char main_altstack[64 * 1024];

static int slot(int sig) {
  for (int i = 0; i < NCRASH; i++)
    if (crash_signals[i] == sig) return i;
  return -1;
}

static void handler(int sig, siginfo_t *info, void *uctx) {
  int saved_errno = errno;
  uint64_t frames[MAX_FRAMES + 8];
  int n = fl_backtrace(frames, MAX_FRAMES + 8);
  uint64_t pc = 0;
#if defined(__x86_64__)
  if (uctx) pc = (uint64_t)((ucontext_t *)uctx)->uc_mcontext.gregs[REG_RIP];
#endif
  // Drop the frames of this handler and the signal trampoline: start at the faulting pc.
  int first = 0;
  if (n > 0 && pc) {
    for (int i = 0; i < n; i++)
      if (frames[i] == pc) { first = i; break; }
  }
  int count = n < 0 ? -1 : (n - first > MAX_FRAMES ? MAX_FRAMES : n - first);
  uint32_t payload = 4 + 4 + 8 + 8 + 2 + (count > 0 ? 8u * (uint32_t)count : 0);
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
    if (count > 0) memcpy(p + 26, frames + first, 8u * (uint32_t)count);
    fl_trace_commit(p);
  }
  int i = slot(sig);
  if (i >= 0) sigaction(sig, &saved[i], NULL);
  // A signal sent with kill() (si_code <= 0) would not come back by returning: send it again.
  // It is blocked while this handler runs, so it arrives when we return.
  if (info && info->si_code <= 0) raise(sig);
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

void fl_crash_install(void) {
  // Installed already (and not reset since, e.g. by a forkserver child resetting its signals)?
  struct sigaction now;
  if (installed && sigaction(SIGSEGV, NULL, &now) == 0 && (now.sa_flags & SA_SIGINFO) &&
      now.sa_sigaction == handler)
    return;
  installed = 1;
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
  for (int i = 0; i < NCRASH; i++) sigaction(crash_signals[i], &sa, &saved[i]);
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
