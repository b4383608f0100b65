// posix_spawn with the GNU file actions (closefrom, chdir) Swift's Glibc module does not expose,
// and the stdio hand-over around fork().
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdint.h>
#include <stdio_ext.h>
#include <sys/syscall.h>
#include <sys/prctl.h>
#include <unistd.h>
#if __has_include(<sys/single_threaded.h>)
#include <sys/single_threaded.h>
#define FL_HAVE_SINGLE_THREADED 1
#else
#define FL_HAVE_SINGLE_THREADED 0
#endif

pid_t fl_spawn(const char *path, char *const argv[], char *const envp[], const fl_spawn_io *io,
               int payload_fd, int payload_target, const int *extra, int nextra, const char *cwd) {
  if (nextra < 0 || nextra > FL_MAX_PASSED_FDS) return -EINVAL;
  // The dup2 actions run in order: first copy every source above the target range, so no
  // target overwrites a source still to be copied.
  int high = payload_target + 1 + nextra;
  int tmp_payload = -1, tmp[FL_MAX_PASSED_FDS];
  int made = 0, rc = 0;
  pid_t pid = -1;
  // Only the stdio slots' actions run before the payload's: a payload above them is used as
  // it is (glibc's dup2 action onto the descriptor itself clears its close-on-exec flag).
  int payload_src = payload_fd;
  if (payload_fd >= 0 && payload_fd <= 2) {
    if ((tmp_payload = fcntl(payload_fd, F_DUPFD_CLOEXEC, high)) < 0) return -errno;
    payload_src = tmp_payload;
  }
  for (; made < nextra; made++) {
    if ((tmp[made] = fcntl(extra[made], F_DUPFD_CLOEXEC, high)) < 0) { rc = errno; break; }
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  if (!rc) rc = posix_spawn_file_actions_init(&fa);
  if (rc) goto out;
  rc = posix_spawnattr_init(&attr);
  if (rc) { posix_spawn_file_actions_destroy(&fa); goto out; }
  for (int i = 0; i < 3 && !rc; i++)
    if (io && io->fds[i] >= 0) rc = posix_spawn_file_actions_adddup2(&fa, io->fds[i], i);
  int closeFrom = 3;
  if (!rc && payload_src >= 0) {
    rc = posix_spawn_file_actions_adddup2(&fa, payload_src, payload_target);
    closeFrom = payload_target + 1;
  }
  for (int i = 0; i < nextra && !rc; i++) {
    rc = posix_spawn_file_actions_adddup2(&fa, tmp[i], closeFrom + i);
  }
  if (!rc) closeFrom += nextra;
  if (!rc) rc = posix_spawn_file_actions_addclosefrom_np(&fa, closeFrom);
  if (!rc && cwd) rc = posix_spawn_file_actions_addchdir_np(&fa, cwd);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  if (!rc) rc = posix_spawnattr_setsigdefault(&attr, &all);
  if (!rc) rc = posix_spawnattr_setsigmask(&attr, &none);
  if (!rc) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (!rc) rc = posix_spawn(&pid, path, &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
out:
  if (tmp_payload >= 0) close(tmp_payload);
  for (int i = 0; i < made; i++) close(tmp[i]);
  return rc ? -rc : pid;
}

int fl_move_fds(const int *src, int n, int first) {
  if (n < 0 || n > FL_MAX_PASSED_FDS) return -EINVAL;
  int tmp[FL_MAX_PASSED_FDS];
  for (int i = 0; i < n; i++)
    if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, first + n)) < 0) return -errno;
  for (int i = 0; i < n; i++)
    if (dup2(tmp[i], first + i) < 0) return -errno;  // dup2 clears close-on-exec on the copy
  fl_close_fds_from(first + n, NULL, 0);
  return 0;
}

// What stdout and stderr hold unwritten at fork() is the parent's to write: a child that kept it
// would print those lines a second time when it exits. The streams' locks are held across the
// fork, so no other thread is half-way through a line then; the child drops its copy.
//
// A process that never started a second thread (glibc's __libc_single_threaded) has no other
// thread that could be half-way through a line, and once the flush left nothing pending there is
// nothing for the child to drop: then nothing is held (returns 0), and neither process touches
// the streams' locks again (in the child, the purge and unlock were 3 page faults: two pages of
// libc text and stdout's lock; in the parent one more).
int fl_stdio_hold_for_fork(void) {
  fl_flush_streams();
#if FL_HAVE_SINGLE_THREADED
  if (__libc_single_threaded && !__fpending(stdout) && !__fpending(stderr)) return 0;
#endif
  flockfile(stdout);
  flockfile(stderr);
  return 1;
}

void fl_stdio_release_in_parent(void) {
  funlockfile(stderr);
  funlockfile(stdout);
}

void fl_stdio_release_in_child(void) {
  // Usually nothing is pending (the parent flushed before taking the locks): a purge would still
  // store into the FILE, one copy-on-write fault more in every child.
  if (__fpending(stdout)) __fpurge(stdout);
  if (__fpending(stderr)) __fpurge(stderr);
  funlockfile(stderr);
  funlockfile(stdout);
}

// What a fork child does first, before any Swift code of Forkline's: drop the parent's unwritten
// stdio and release the stdio locks held across the fork (when they were), unblock every signal, die with the
// thread that forked it (and exit if that already happened), put its stdio descriptors on 0, 1
// and 2, and close every other descriptor but `keep` (when asked: a forkserver child moves its
// passed descriptors first). One function with raw system calls: each
// libc wrapper and each Swift function a child runs first is a page of text it faults in (fork
// copies no page-table entries for file pages), ~3-5 us each here (perf record -e
// exceptions:page_fault_user of forkline-bench --start).
void fl_fork_child_setup(int stdio_held, pid_t parent, int in_fd, int out_fd, int err_fd, int close_fds,
                         const int *keep, int nkeep) {
  fl_note_fork_child();
  if (stdio_held) fl_stdio_release_in_child();
  uint64_t none = 0;  // the kernel's sigset: 64 signals on every Linux architecture
  (void)fl_syscall6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0, sizeof none, 0, 0);
  (void)fl_syscall6(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0, 0);
  if ((pid_t)fl_syscall6(SYS_getppid, 0, 0, 0, 0, 0, 0) != parent) fl_exit_now(1);
  int fds[3] = {in_fd, out_fd, err_fd};
  for (int i = 0; i < 3; i++)
    if (fds[i] >= 0 && fds[i] != i) (void)fl_syscall6(SYS_dup3, fds[i], i, 0, 0, 0, 0);
  if (close_fds) fl_close_fds_from(3, keep, nkeep);
}

// fflush(NULL), at a child's exit (what any stream holds unwritten is written, as exit() would,
// before the child's exit_group) and in the parent before a fork. With nothing buffered it does
// nothing, yet it took a fork child 3 page faults (the text of _IO_fflush and _IO_flush_all, and
// the write of the stream list's lock) and the parent 1 a start (that lock's page, shared with
// the last child; perf record -e page-faults of forkline-bench --start). So when this process
// has one thread (no other can open, close or write a stream meanwhile) the stream list
// (glibc's _IO_list_all, part of its ABI) is read first, and fflush(NULL) runs only if some
// stream has bytes buffered either way or is wide-oriented (its buffers are elsewhere).
// The list is read only once fl_bind_child_calls (the parent, before its first fork) saw the
// stream it opened at its head: a program linked so that it has a copy of _IO_list_all (a copy
// relocation: gcc's default PIE or -no-pie) would read a snapshot taken at its start, without
// the streams opened since, and drop their buffers; such a program, or one that never forked,
// flushes as before.
#if defined(__GLIBC__) && FL_HAVE_SINGLE_THREADED
extern FILE *_IO_list_all;
static int stream_list_live;
#endif

void fl_flush_streams(void) {
#if defined(__GLIBC__) && FL_HAVE_SINGLE_THREADED
  if (stream_list_live && __libc_single_threaded) {
    for (FILE *f = _IO_list_all; f != NULL; f = f->_chain)
      if (f->_mode > 0 || f->_IO_write_ptr > f->_IO_write_base || f->_IO_read_ptr < f->_IO_read_end) {
        fflush(NULL);
        return;
      }
    return;
  }
#endif
  fflush(NULL);
}

// The libc functions only a fork child calls (fl_stdio_release_in_child, fl_set_pdeathsig, the
// getppid re-check, the crash writer's sigaltstack and sigaction) are bound
// lazily: the first call in each child looked the symbol up through every loaded library's hash
// tables, ~20 page faults a child (LD_DEBUG=bindings, perf -e page-faults; a fork child does not
// share its parent's page table entries for file pages, so each first read of a library's
// symbol table or text faults). Calling each once here, harmlessly, binds them in the
// parent, and children inherit the bound entries.
void fl_bind_child_calls(void) {
  sigset_t set;
  sigemptyset(&set);
  sigprocmask(SIG_BLOCK, NULL, &set);  // a query: changes nothing
  // The crash writer's install (fl_crash_become_child) in a child whose parent never traced.
  stack_t ss;
  (void)sigaltstack(NULL, &ss);
  struct sigaction sa;
  (void)sigaction(SIGSEGV, NULL, &sa);
  int sig = 0;
  (void)prctl(PR_GET_PDEATHSIG, &sig);
  (void)getppid();
  FILE *f = fopen("/dev/null", "w");
  if (f) {
#if defined(__GLIBC__) && FL_HAVE_SINGLE_THREADED
    stream_list_live = _IO_list_all == f;  // glibc puts a new stream at the list's head
#endif
    (void)__fpending(f);
    __fpurge(f);
    fclose(f);
  }
}

// MARK: - forking a sibling (the forkserver's children of its owner)
//
// clone(CLONE_PARENT) makes the new process a child of the caller's parent, so a forkserver's
// owner can wait for a child the server forked as for its own (docs/spawn.md). glibc has no fork
// with flags; the raw clone below does what glibc's _Fork does for a single-threaded process
// (the only kind that may call it): the kernel stores the child's tid where glibc keeps it
// (CLONE_CHILD_SETTID at the address glibc registered with set_tid_address, which robust and
// recursive mutexes compare with their owner), and the child registers glibc's robust-list head
// again (the kernel gives a new process none). What it does not do is run pthread_atfork
// handlers: the server registers none of its own and runs no library that needs them (it never
// started a thread, so there is no lock to take or drop).

#include <sched.h>

static int *sibling_tid_address;
static void *sibling_robust_head;
static size_t sibling_robust_len;

int fl_sibling_fork_prepare(void) {
  int *addr = NULL;
  if (prctl(PR_GET_TID_ADDRESS, &addr, 0, 0, 0) != 0) return -errno;
  if (addr == NULL || *addr != (int)syscall(SYS_gettid)) return -ENOTSUP;
  void *head = NULL;
  size_t len = 0;
  if (syscall(SYS_get_robust_list, 0, &head, &len) != 0) return -errno;
  if (head == NULL) return -ENOTSUP;
  sibling_tid_address = addr;
  sibling_robust_head = head;
  sibling_robust_len = len;
  return 0;
}

pid_t fl_fork_sibling(void) {
  if (sibling_tid_address == NULL) return -ENOTSUP;
  unsigned long flags = (unsigned long)(CLONE_PARENT | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD);
  // fl_syscall6, not libc's syscall: the child's first instruction would be a fault in that text.
#if defined(__aarch64__) || defined(__arm__)
  // arm and arm64 (the kernel's CLONE_BACKWARDS): clone(flags, stack, parent_tid, tls, child_tid).
  long r = fl_syscall6(SYS_clone, (long)flags, 0, 0, 0, (long)sibling_tid_address, 0);
#else
  // x86_64, riscv64 and the generic order: clone(flags, stack, parent_tid, child_tid, tls).
  long r = fl_syscall6(SYS_clone, (long)flags, 0, 0, (long)sibling_tid_address, 0, 0);
#endif
  if (r == 0) {
    (void)fl_syscall6(SYS_set_robust_list, (long)sibling_robust_head, (long)sibling_robust_len, 0, 0, 0, 0);
    return 0;
  }
  return (pid_t)r;
}
