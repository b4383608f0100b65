// Thin wrappers for calls Swift cannot make itself (variadic or GNU-only).
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

// A system call without libc's `syscall`, whose page of text each fork child faulted in for the
// few calls of its first steps and its exit (fork copies no page table entries of file
// mappings; perf record -e page-faults of forkline-bench --start): the kernel's result, -errno
// on failure. Elsewhere than x86_64 and arm64, libc's.
long fl_syscall6(long n, long a, long b, long c, long d, long e, long f) {
#if defined(__x86_64__)
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory", "cc");
  return x0;
#else
  long r = syscall(n, a, b, c, d, e, f);
  return r == -1 ? -errno : r;
#endif
}

int fl_set_pdeathsig(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0 ? 0 : -errno; }

int fl_pidfd_open(pid_t pid) {
  long r = syscall(SYS_pidfd_open, pid, 0);
  return r >= 0 ? (int)r : -errno;
}

int fl_pidfd_send_signal(int pidfd, int sig) {
  return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) == 0 ? 0 : -errno;
}

static int is_kept(int fd, const int *keep, int nkeep) {
  for (int i = 0; i < nkeep; i++)
    if (keep[i] == fd) return 1;
  return 0;
}

static void close_fds_from(int first, const int *keep, int nkeep);

void fl_close_fds_from(int first, const int *keep, int nkeep) {
  int all[FL_MAX_PASSED_FDS + 2];
  int n = 0;
  for (int i = 0; i < nkeep && n < FL_MAX_PASSED_FDS; i++) all[n++] = keep[i];
  int unwinder[2];
  int m = fl_unwinder_fds(unwinder);
  for (int i = 0; i < m; i++) all[n++] = unwinder[i];
  close_fds_from(first, all, n);
}

static void close_fds_from(int first, const int *keep, int nkeep) {
  // Close every range between kept descriptors with close_range; fall back to /proc/self/fd.
  int sorted[FL_MAX_PASSED_FDS + 2];
  int n = 0;
  for (int i = 0; i < nkeep && n < FL_MAX_PASSED_FDS + 2; i++)
    if (keep[i] >= first) sorted[n++] = keep[i];
  for (int i = 1; i < n; i++)
    for (int j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
      int t = sorted[j]; sorted[j] = sorted[j - 1]; sorted[j - 1] = t;
    }
  int lo = first, ok = 1;
  for (int i = 0; i <= n && ok; i++) {
    unsigned hi = i < n ? (unsigned)sorted[i] - 1 : ~0U;
    if (i < n && sorted[i] < lo) continue;
    if ((unsigned)lo <= hi && fl_syscall6(SYS_close_range, lo, hi, 0, 0, 0, 0) != 0) ok = 0;
    if (i < n) lo = sorted[i] + 1;
  }
  if (ok) return;
  DIR *d = opendir("/proc/self/fd");
  if (!d) return;
  int dfd = dirfd(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd < first || fd == dfd || is_kept(fd, keep, nkeep)) continue;
    close(fd);
  }
  closedir(d);
}

int fl_reserve(int fd, size_t size) {
  // posix_fallocate returns the error (it does not set errno); a signal may interrupt it.
  int rc;
  do rc = posix_fallocate(fd, 0, (off_t)size); while (rc == EINTR);
  return -rc;
}

int fl_memfd(const char *name, size_t size) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return -errno;
  int err = 0;
  if (ftruncate(fd, (off_t)size) != 0) err = errno;
  else err = -fl_reserve(fd, size);
  if (err != 0) {
    close(fd);
    return -err;
  }
  return fd;
}

int fl_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC) == 0 ? 0 : -errno; }

ssize_t fl_write_nosigpipe(int fd, const void *buf, size_t len) {
  ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
  if (n >= 0) return n;
  if (errno != ENOTSOCK) return -errno;
  // Not a socket (a pipe, a file, a terminal): block SIGPIPE for this thread around the write,
  // and take back the SIGPIPE that write raised, unless one was already pending for another
  // reason (then it is not ours to take).
  sigset_t block, old, pending;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  sigemptyset(&pending);
  sigpending(&pending);
  int was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &block, &old);
  n = write(fd, buf, len);
  int err = errno;
  // A pipe whose last reader closes while this write is under way raises SIGPIPE too, and the
  // write returns the bytes it had written (a short count, not EPIPE): take it back then as well.
  if (!was_pending && ((n < 0 && err == EPIPE) || (n >= 0 && (size_t)n < len))) {
    struct timespec zero = {0, 0};  // nothing pending: returns EAGAIN at once, takes nothing
    while (sigtimedwait(&block, NULL, &zero) < 0 && errno == EINTR) {}
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return n < 0 ? -err : n;
}

// The calling thread's tid without a system call once it is known: glibc keeps each thread's
// tid in its descriptor, at the address the kernel clears when the thread ends (the one
// PR_GET_TID_ADDRESS reports), and the kernel writes a fork child's own tid at that address
// (glibc's fork asks for CLONE_CHILD_SETTID there, as fl_fork_sibling does), so the word read
// here is the calling thread's tid in the calling process for every process made by glibc's
// fork, posix_spawn, pthread_create or fl_fork_sibling. A raw clone without CLONE_CHILD_SETTID
// would read its parent's tid (and pid) here, as glibc's own recursive and robust mutexes would
// misread it: nothing in Forkline makes one, and a user who does cannot call Forkline in it.
// Each thread looks the address up once (and checks that the word holds its tid); where it
// cannot, every call is a gettid. A start+join of a fork child read the tid and pid 6 times (~2 us a system call on
// these virtual machines).
static __thread volatile pid_t *tid_word;
static __thread int tid_word_state;  // 0 not looked up, 1 found, 2 unavailable

pid_t fl_gettid(void) {
  if (tid_word_state == 1) return *tid_word;
  pid_t tid = (pid_t)syscall(SYS_gettid);
  if (tid_word_state == 0) {
    int *addr = NULL;
    if (prctl(PR_GET_TID_ADDRESS, &addr, 0, 0, 0) == 0 && addr != NULL && *(volatile int *)addr == tid) {
      tid_word = addr;
      tid_word_state = 1;
    } else {
      tid_word_state = 2;
    }
  }
  return tid;
}

// This process's pid, read once per thread and process: a thread remembers the pid with its tid
// (fl_gettid), and a fork child's thread has another tid, so it reads its own.
static __thread pid_t pid_seen_tid, pid_seen;

pid_t fl_getpid(void) {
  pid_t tid = fl_gettid();
  if (tid_word_state != 1) return (pid_t)syscall(SYS_getpid);
  if (tid == pid_seen_tid) return pid_seen;
  pid_t pid = (pid_t)syscall(SYS_getpid);
  pid_seen = pid;
  pid_seen_tid = tid;
  return pid;
}

void fl_note_fork_child(void) {
  // A new process's one thread is its leader, so its tid, which the kernel wrote to the word at
  // the fork (CLONE_CHILD_SETTID), is its pid too: no getpid on the child's way (~2 us here).
  if (tid_word_state != 1) return;
  pid_t tid = *tid_word;
  pid_seen = tid;
  pid_seen_tid = tid;
}

int fl_mutex_owned_by_caller(void *m) {
  // glibc's pthread_mutex_t starts with the futex word (__data.__lock).
  unsigned word = __atomic_load_n((unsigned *)m, __ATOMIC_RELAXED);
  return (pid_t)(word & 0x3fffffffu) == fl_gettid();
}

void fl_reset_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < NSIG; s++) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    sigaction(s, &sa, NULL);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
}

// exit_group directly, not _exit(): a child is often the first to call _exit, and its lazy
// binding looked the symbol up through every loaded library (~12 page faults a child).
void fl_exit_now(int code) {
  for (;;) fl_syscall6(SYS_exit_group, code, 0, 0, 0, 0, 0);
}

ssize_t fl_send_fds(int sock, const void *bytes, size_t len, const int *fds, int nfds) {
  struct iovec iov = {.iov_base = (void *)bytes, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  char control[CMSG_SPACE(sizeof(int) * FL_MAX_PASSED_FDS)];
  if (nfds > FL_MAX_PASSED_FDS) return -EINVAL;
  if (nfds > 0) {
    memset(control, 0, sizeof control);
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
  }
  ssize_t r;
  do r = sendmsg(sock, &msg, MSG_NOSIGNAL); while (r < 0 && errno == EINTR);
  return r >= 0 ? r : -errno;
}

ssize_t fl_recv_fds(int sock, void *bytes, size_t len, int *fds, int maxfds, int *nfds) {
  struct iovec iov = {.iov_base = bytes, .iov_len = len};
  struct msghdr msg;
  memset(&msg, 0, sizeof msg);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  char control[CMSG_SPACE(sizeof(int) * FL_MAX_PASSED_FDS)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  *nfds = 0;
  ssize_t r;
  do r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
    int *got = (int *)CMSG_DATA(c);
    for (int i = 0; i < n; i++) {
      if (*nfds < maxfds) fds[(*nfds)++] = got[i];
      else close(got[i]);
    }
  }
  return r;
}

#include <sched.h>
#include <sys/epoll.h>

int fl_epoll_create(void) {
  int r = epoll_create1(EPOLL_CLOEXEC);
  return r >= 0 ? r : -errno;
}

int fl_epoll_watch_once(int ep, int fd) {
  struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.fd = fd};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
  if (errno == EEXIST && epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
  return -errno;
}

void fl_epoll_forget(int ep, int fd) { epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL); }

int fl_epoll_wait(int ep, int *fds, int max, int timeout_ms) {
  struct epoll_event evs[64];
  if (max > 64) max = 64;
  int n = epoll_wait(ep, evs, max, timeout_ms);
  if (n < 0) return -errno;
  for (int i = 0; i < n; i++) fds[i] = evs[i].data.fd;
  return n;
}

int fl_accept_cloexec(int fd) {
  int r;
  do r = accept4(fd, NULL, NULL, SOCK_CLOEXEC); while (r < 0 && errno == EINTR);
  return r >= 0 ? r : -errno;
}

long fl_peer_uid(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  return (long)cred.uid;
}

int fl_children_keep_status(void) {
  struct sigaction sa;
  if (sigaction(SIGCHLD, NULL, &sa) != 0) return 0;
  return sa.sa_handler != SIG_IGN && !(sa.sa_flags & SA_NOCLDWAIT);
}

long fl_peer_pid(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return -1;
  return (long)cred.pid;
}

int fl_cpu_count(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

static cpu_set_t pinned_from;
static int pinned;

int fl_pin_to_this_cpu(void) {
  if (pinned) return -EBUSY;
  int cpu = sched_getcpu();
  if (cpu < 0) return -errno;
  if (sched_getaffinity(0, sizeof pinned_from, &pinned_from) != 0) return -errno;
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  if (sched_setaffinity(0, sizeof one, &one) != 0) return -errno;
  pinned = 1;
  return cpu;
}

int fl_unpin(void) {
  if (!pinned) return 0;
  pinned = 0;
  return sched_setaffinity(0, sizeof pinned_from, &pinned_from) == 0 ? 0 : -errno;
}
