// CForkline: the few things Swift cannot do itself.
//
// - variadic or GNU-only libc calls (prctl, syscall, posix_spawn file actions that need
//   _GNU_SOURCE, pidfd_open, close_range);
// - the trace recorder's hot path and its crash writer, which must run inside a signal
//   handler and therefore must be async-signal-safe C (no allocation, no locks it cannot skip);
// - libunwind, loaded with dlopen(RTLD_LOCAL) so it never interposes `_Unwind_*` for the
//   user's whole process (see docs/backtraces.md).
//
// Every function is out of line and prefixed `fl_`.
#ifndef CFORKLINE_H
#define CFORKLINE_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - system calls Swift cannot reach

/// prctl(PR_SET_PDEATHSIG, sig). Returns 0 or -errno.
int fl_set_pdeathsig(int sig);
/// pidfd_open(pid, 0) with O_CLOEXEC semantics (pidfds are always close-on-exec). Returns fd or -errno.
int fl_pidfd_open(pid_t pid);
/// pidfd_send_signal(pidfd, sig, NULL, 0). Returns 0 or -errno.
int fl_pidfd_send_signal(int pidfd, int sig);
/// close_range(first, ~0U, 0) with a fallback loop over /proc/self/fd. Keeps the fds in `keep`
/// (at most FL_MAX_PASSED_FDS) and libunwind's pipe (see fl_unwinder_fds).
void fl_close_fds_from(int first, const int *keep, int nkeep);
/// memfd_create(name, MFD_CLOEXEC) sized to `size` bytes, its pages reserved (fl_reserve):
/// anonymous shared memory that vanishes with its last descriptor and mapping (nothing in
/// /dev/shm to leak). Returns fd or -errno (-ENOSPC, -ENOMEM when the pages cannot be had).
int fl_memfd(const char *name, size_t size);
/// posix_fallocate(fd, 0, size), retried on EINTR: reserves the pages of a shared memory file
/// now, so a full tmpfs is an error here (-ENOSPC) instead of a SIGBUS at the first write to a
/// page it cannot back. Returns 0 or -errno.
int fl_reserve(int fd, size_t size);
/// pipe2(fds, O_CLOEXEC). Returns 0 or -errno.
int fl_pipe_cloexec(int fds[2]);
/// One write that never raises SIGPIPE: send(MSG_NOSIGNAL) on a socket; on anything else a write
/// with SIGPIPE blocked for the calling thread, the SIGPIPE it raised taken back. Returns the
/// bytes written or -errno (-EPIPE when the reader is gone).
ssize_t fl_write_nosigpipe(int fd, const void *buf, size_t len);
/// gettid().
pid_t fl_gettid(void);
/// This process's pid: a system call once per thread (and per process, after a fork), then a
/// read (syscalls.c says how it knows it is still right).
pid_t fl_getpid(void);
/// In a fork child, first: its pid is the tid the kernel wrote for it, so fl_getpid needs no
/// system call (syscalls.c).
void fl_note_fork_child(void);
/// A raw system call (x86_64 and arm64: without libc's `syscall`). Returns the kernel's result,
/// -errno on failure.
long fl_syscall6(long n, long a, long b, long c, long d, long e, long f);
/// 1 when the calling thread holds the robust mutex `m` (a `pthread_mutex_t *`): the robust
/// futex protocol keeps the owner's tid in the futex word (FUTEX_TID_MASK), kernel ABI.
int fl_mutex_owned_by_caller(void *m);
/// Resets every signal's disposition to default and unblocks all signals (used in new children).
void fl_reset_signals(void);
/// _exit without running atexit handlers.
void fl_exit_now(int code) __attribute__((noreturn));

/// One stdio slot for fl_spawn: -1 inherit, otherwise the fd to dup2 onto the slot.
typedef struct fl_spawn_io {
  int fds[3];
} fl_spawn_io;

/// The most descriptors one child can be given (stdio included) or one message can carry.
#define FL_MAX_PASSED_FDS 64

/// posix_spawn(path) with: stdio slots, `payload_fd` dup2'd to `payload_target`, `extra[i]`
/// dup2'd to `payload_target + 1 + i`, every other descriptor >= 3 closed
/// (posix_spawn_file_actions_addclosefrom_np), optional chdir, default signal dispositions and
/// an empty signal mask. Returns pid or -errno.
pid_t fl_spawn(const char *path, char *const argv[], char *const envp[], const fl_spawn_io *io,
               int payload_fd, int payload_target, const int *extra, int nextra, const char *cwd);

/// posix_spawn_file_actions_addclosefrom_np(actions, from) (`actions`: a
/// `posix_spawn_file_actions_t *`): the spawned program gets no descriptor from `from` up.
/// Returns 0 or an errno.
int fl_spawn_actions_closefrom(void *actions, int from);

/// In a new child: moves `src[i]` to descriptor `first + i` (whatever the overlaps), then closes
/// every descriptor from `first + n` up. Returns 0 or -errno.
int fl_move_fds(const int *src, int n, int first);
/// Around fork(): flushes all streams and holds stdout's and stderr's locks (hold; returns 1,
/// or 0 when a single-threaded process had nothing left to hold them for), then lets them go
/// in the parent, or drops the unwritten output the child inherited and lets go there (only
/// after a hold that returned 1).
int fl_stdio_hold_for_fork(void);
void fl_stdio_release_in_parent(void);
void fl_stdio_release_in_child(void);
/// A fork child's first steps: the stdio locks held across the fork released (`stdio_held`), the
/// signal mask emptied, the death signal set and the parent re-checked (exit 1 if it is gone),
/// stdio descriptors onto 0-2 (-1: inherit), and, if `close_fds`, every descriptor above 2 but
/// `keep` closed.
void fl_fork_child_setup(int stdio_held, pid_t parent, int in_fd, int out_fd, int err_fd, int close_fds,
                         const int *keep, int nkeep);
/// fflush(NULL), skipped when this process has one thread and no stream holds buffered data
/// (then it would do nothing): a child's exit path (see spawn.c).
void fl_flush_streams(void);
/// Calls, harmlessly, the libc functions only a fork child uses, so the parent binds them and
/// children need no symbol lookups (see spawn.c).
void fl_bind_child_calls(void);

/// In a single-threaded process (the forkserver), once: finds where glibc keeps this thread's
/// tid and robust-list head, for fl_fork_sibling. Returns 0, or -errno when the kernel cannot
/// tell (no PR_GET_TID_ADDRESS: then fork as usual).
int fl_sibling_fork_prepare(void);
/// fork() whose child is a child of the caller's parent (clone with CLONE_PARENT), for a
/// single-threaded caller after fl_sibling_fork_prepare: pthread_atfork handlers do not run.
/// Returns the pid in the caller, 0 in the child, -errno on failure.
pid_t fl_fork_sibling(void);

/// Sends `fd` and `bytes` over a unix socket with SCM_RIGHTS (fds may be NULL / nfds 0).
/// Returns bytes sent or -errno.
ssize_t fl_send_fds(int sock, const void *bytes, size_t len, const int *fds, int nfds);
/// Receives bytes and up to `maxfds` descriptors (made close-on-exec). `*nfds` gets the count.
/// Returns bytes received (0 on EOF) or -errno.
ssize_t fl_recv_fds(int sock, void *bytes, size_t len, int *fds, int maxfds, int *nfds);

/// epoll_create1(EPOLL_CLOEXEC). Returns fd or -errno.
int fl_epoll_create(void);
/// Watches `fd` for input once (EPOLLIN | EPOLLONESHOT), adding or re-arming it. 0 or -errno.
int fl_epoll_watch_once(int ep, int fd);
/// Stops watching `fd`.
void fl_epoll_forget(int ep, int fd);
/// epoll_wait: stores up to `max` ready descriptors in `fds`. Returns the count or -errno.
int fl_epoll_wait(int ep, int *fds, int max, int timeout_ms);
// MARK: - the async bridge's kernel calls (wait.c)

/// Watches `fd` for input once (EPOLLIN | EPOLLONESHOT) under `token` (epoll_data.u64). 0 or -errno.
int fl_epoll_watch_token(int ep, int fd, uint64_t token);
/// Watches `fd` for input (level-triggered, not one-shot) under `token`. 0 or -errno.
int fl_epoll_watch_token_persistent(int ep, int fd, uint64_t token);
/// epoll_wait: stores up to `max` (<= 64) ready tokens. Returns the count or -errno.
int fl_epoll_wait_tokens(int ep, uint64_t *tokens, int max, int timeout_ms);
/// epoll_ctl(EPOLL_CTL_DEL). 0 or -errno.
int fl_epoll_ctl_del(int ep, int fd);
/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK). Returns fd or -errno.
int fl_eventfd(void);
/// fcntl(F_DUPFD_CLOEXEC). Returns the new fd or -errno.
int fl_dup_cloexec(int fd);
/// futex_waitv over `n` (<= 128) 32-bit words: sleeps until one is woken (returns its index), one
/// already differs from `expected` (-EAGAIN), or the CLOCK_MONOTONIC `deadline_ns` (0: none)
/// passes (-ETIMEDOUT). `shared[i]` 0 makes word i a private (process-local) futex.
int fl_futex_waitv(uint32_t *const *words, const uint32_t *expected, const int *shared, int n,
                   uint64_t deadline_ns);
/// FUTEX_WAKE_PRIVATE / FUTEX_WAIT_PRIVATE on process-local words (no deadline). 0/count or -errno.
int fl_futex_wake_private(uint32_t *word, int count);
int fl_futex_wait_private(uint32_t *word, uint32_t expected);
/// Sequentially consistent operations on a 32-bit word (shared memory or a lock word); cas
/// returns 1 when it stored `desired` (acquire ordering).
uint32_t fl_atomic_load_u32(const uint32_t *word);
void fl_atomic_add_u32(uint32_t *word, uint32_t delta);
uint32_t fl_atomic_exchange_u32(uint32_t *word, uint32_t value);
int fl_atomic_cas_u32(uint32_t *word, uint32_t expected, uint32_t desired);
/// Acquire load and release store of a 64-bit word in shared memory (a pool worker's cancel board).
static inline uint64_t fl_atomic_load_acquire_u64(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }
static inline void fl_atomic_store_release_u64(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }
/// Reads what is there without blocking and without changing O_NONBLOCK: recv(MSG_DONTWAIT) on
/// a socket, preadv2(RWF_NOWAIT) on a pipe. Bytes read (0 at EOF) or -errno (-EAGAIN: nothing yet).
ssize_t fl_read_nowait(int fd, void *buf, size_t len);
/// fl_read_nowait for a descriptor known to be a pipe: preadv2(RWF_NOWAIT) first, one system
/// call instead of two (a recv failing with ENOTSOCK, then the read); any other kind falls back.
ssize_t fl_pipe_read_nowait(int fd, void *buf, size_t len);
/// accept4(fd, SOCK_CLOEXEC). Returns fd or -errno.
int fl_accept_cloexec(int fd);
/// The uid of a unix socket's peer (SO_PEERCRED), or -1.
long fl_peer_uid(int fd);
/// 1 unless SIGCHLD is ignored or has SA_NOCLDWAIT (then the kernel reaps children itself).
int fl_children_keep_status(void);
/// The pid of a unix socket's peer (SO_PEERCRED) at connect time, or -1.
long fl_peer_pid(int fd);
/// CPUs in this process's affinity mask (0 if unknown).
int fl_cpu_count(void);
/// Pins the calling thread, and the processes it forks or spawns from then on, to the CPU it
/// runs on (forkline-bench's same-CPU rows): that CPU, or -errno. fl_unpin restores the mask
/// it had (0 or -errno).
int fl_pin_to_this_cpu(void);
int fl_unpin(void);

// MARK: - futexes (process-shared: no FUTEX_PRIVATE_FLAG, so they work on MAP_SHARED memory)

/// Sleeps while `*word == expected`, until woken or until the CLOCK_MONOTONIC time `deadline_ns`
/// (0: no deadline). Returns 0 when woken (maybe spuriously), -EAGAIN when `*word` already
/// differed, -ETIMEDOUT, or -EINTR.
int fl_futex_wait(uint32_t *word, uint32_t expected, uint64_t deadline_ns);
/// Wakes up to `count` processes sleeping on `word`. Returns how many were woken, or -errno.
int fl_futex_wake(uint32_t *word, int count);
/// A CPU pause hint for short spin loops.
void fl_cpu_relax(void);

// MARK: - backtraces (libunwind loaded at run time)

/// Loads libunwind with dlopen(RTLD_LOCAL) once. Returns 1 when available, 0 otherwise.
/// Setting FORKLINE_NO_LIBUNWIND=1 in the environment makes it unavailable (for tests).
int fl_unwind_load(void);
/// Captures up to `max` return addresses of the calling thread. Returns the count, or -1 when
/// libunwind is unavailable. Async-signal-safe once fl_unwind_load has returned 1.
int fl_backtrace(uint64_t *frames, int max);

/// The most frames kept of a throw site (fl_throw_capture_take).
#define FL_THROW_FRAMES 64
/// Installs the Swift runtime's will-throw hooks (untyped and typed), chaining to any hook set
/// before: from then on every `throw` on a thread records that thread's stack (about 0.1 us).
/// Returns 1 when installed (libunwind loaded), 0 otherwise. Call once, single-threaded.
int fl_throw_capture_install(void);
/// Forgets the calling thread's last throw site.
void fl_throw_capture_clear(void);
/// Copies up to `max` return addresses of the calling thread's last throw site (innermost
/// first, the hook's own frames included) and forgets it. Returns the count (0: none).
int fl_throw_capture_take(uint64_t *frames, int max);
/// dladdr: the symbol and file holding `address`. Returns 1 when a file holds it (`symbol`
/// may still be NULL: not exported), 0 otherwise. The strings belong to the loader.
int fl_symbol_of(uint64_t address, const char **symbol, const char **file, uint64_t *symbol_start, uint64_t *file_base);
/// The two descriptors of the pipe libunwind checks addresses with (numbers at or above
/// 3 + FL_MAX_PASSED_FDS), which children must keep. Returns 2, or 0 when not known.
int fl_unwinder_fds(int out[2]);

// MARK: - trace recorder

/// Size of the fixed file header and of each record's header (see docs/trace-format.md).
#define FL_TRACE_FILE_HEADER 64
#define FL_TRACE_RECORD_HEADER 24
#define FL_TRACE_MAGIC "FLTRACE\0"
#define FL_TRACE_VERSION 1
#define FL_KIND_PADDING 0xFFFF
#define FL_KIND_CRASH 4
#define FL_KIND_TRACE_CUT 12
#define FL_KIND_EVENT_TRUNCATED 60
/// The largest payload a record can hold: a record's size in words is a u16 (0xFFFF * 8 bytes).
#define FL_TRACE_MAX_PAYLOAD 524256  /* 0xFFFF * 8 - FL_TRACE_RECORD_HEADER */

/// Opens `path` (O_CREAT|O_EXCL|O_CLOEXEC), writes the header and maps the first chunk.
/// `host` is the host id (header offset 48; 0 when unknown). Returns 0 or -errno. Only one
/// recorder exists per process.
int fl_trace_open(const char *path, uint64_t puid, int32_t pid, int32_t ppid, uint64_t start_ns,
                  uint64_t realtime_ns, uint64_t host);
/// Gives the file opened by fl_trace_open its name (it was created unnamed). Call after the
/// first events are recorded. Returns 0 or -errno (tracing is then off).
int fl_trace_link(void);
/// 1 when a recorder is open and has not failed.
int fl_trace_enabled(void);
/// Reserves a record of `payload_len` bytes for `kind`; returns a pointer to the payload, or NULL
/// when tracing is off or failed. `*seq` gets the record's sequence number. The record becomes
/// visible to readers only at fl_trace_commit. A payload over FL_TRACE_MAX_PAYLOAD is not
/// recorded: an `eventTruncated` record (kind, needed size, recorded 0) takes its place and NULL
/// is returned.
void *fl_trace_reserve(uint16_t kind, uint32_t payload_len, uint64_t *seq);
/// Publishes a record reserved by fl_trace_reserve.
void fl_trace_commit(void *payload);
/// Records an event of up to four `u64`/`u8` arguments in one step (reserved, filled and
/// published under the recorder's lock): `layout` is the argument count (bits 0-7), which are
/// `u8` (bits 8-15, one per argument) and the payload size (bits 16-31), as ForklineTrace's
/// WordLayout has them. 1 recorded, 0 tracing off, -1 the trace was cut (reserving failed).
int fl_trace_record_words(uint16_t kind, uint32_t layout, uint64_t a, uint64_t b, uint64_t c, uint64_t d);
/// fl_trace_reserve for such an event, its arguments written: commit it with fl_trace_commit.
/// NULL when tracing is off or failed (fl_trace_failure then says why, if it failed).
void *fl_trace_reserve_words(uint16_t kind, uint32_t layout, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t *seq);
/// Records an event whose payload is a u16 byte count and `count` bytes (a mark's label) in one
/// step, as fl_trace_record_words; `*seq` (if not NULL) gets its sequence number. 1 recorded, 0
/// tracing off, -1 the trace was cut, -2 `count` over 65,535 (nothing recorded).
int fl_trace_record_counted(uint16_t kind, const void *bytes, uint32_t count, uint64_t *seq);
/// The puid of the process whose trace file is open (fl_trace_open's), 0 before any.
uint64_t fl_trace_puid(void);
/// Reserves the process's last record (its `exit`) and, in the same step, turns recording off for
/// every other thread (as fl_trace_silence), so nothing follows it. NULL when tracing is off.
void *fl_trace_reserve_final(uint16_t kind, uint32_t payload_len);
/// Sequence number the next record will get (for causal references made before recording).
uint64_t fl_trace_next_seq(void);
/// The errno that stopped tracing (ENOSPC, EROFS, ...), 0 while healthy.
int fl_trace_failure(void);
/// Turns recording off, waits briefly for records other threads are writing, truncates the file
/// to the bytes used and closes it (clean exit). The mappings stay: a thread still between
/// reserve and commit writes into mapped memory, never into unmapped pages.
void fl_trace_close(void);
/// In a freshly forked child: forget the parent's recorder (unmap, close) without touching its file.
void fl_trace_forget_after_fork(void);
/// 1 while the grower thread has been asked for the next trace chunk and has not made it yet
/// (tests wait on it to give the grower its time on a loaded machine), else 0.
int fl_trace_ahead_pending(void);
/// CLOCK_MONOTONIC in nanoseconds.
uint64_t fl_monotonic_ns(void);
/// CLOCK_REALTIME in nanoseconds.
uint64_t fl_realtime_ns(void);

/// Turns recording off for every thread of the process, keeping the mappings (a thread between
/// reserve and commit still writes into mapped memory): later reserves return NULL, except the
/// crash writer's one record (fl_trace_reserve_in_signal).
void fl_trace_silence(void);

/// Installs the crash writer for SIGSEGV, SIGBUS, SIGILL, SIGABRT, SIGFPE and SIGTRAP on an
/// alternate stack. On a crash it silences the recorder (no thread records after the crash),
/// records a `crash` event (signal, code, fault address, backtrace), then:
/// - in a Forkline child (fl_crash_become_child), ends the process at once by the crash's own
///   signal with its default action: the Swift runtime's crash report (seconds long, with a
///   helper process) does not run, and no other thread makes progress for more than the moment
///   the kernel takes to end them;
/// - in the root process, or a child that opted into the runtime's report, restores the previous
///   handler and lets the signal reach it (the Swift runtime's report, or the default action).
void fl_crash_install(void);
/// Marks this process as a Forkline child and installs the crash writer (traced or not).
/// `keep_runtime_report`: 1 to chain to the Swift runtime's crash report instead of ending at once.
void fl_crash_become_child(int keep_runtime_report);
/// Gives the calling thread an alternate signal stack if it has none (call on new threads).
void fl_crash_thread_init(void);
/// fl_crash_thread_init once per thread: a thread that forks calls it first, so that its fork
/// children (which inherit the forking thread's alternate stack and the installed writer, and
/// only query it) always have a stack to run the writer on.
void fl_crash_thread_ensure(void);
/// Registers an area (e.g. shared memory a parent also maps) the crash writer fills on a crash,
/// traced or not, with memcpy only: u32 state (1 once written, stored last with release order),
/// i32 signal, i32 si_code, u16 frame count (0xFFFF: no backtrace), 2 bytes padding, u64 fault
/// address, u64 pc, then the return addresses (u64, innermost first) that fit in `len`. NULL
/// unregisters. The area must stay mapped while registered.
void fl_crash_set_report_area(void *p, size_t len);
#define FL_CRASH_REPORT_HEADER 32

/// Registers an on_exit handler that calls `callback(status)` once at normal process exit.
void fl_on_exit(void (*callback)(int status));

// MARK: - queue ring (queue.c)

/// Bytes before a queue's ring in its shared segment.
#define FL_QUEUE_HEADER_SIZE 1024
/// A queue's two sides, each with its own lock: getters (take, task_done, lost items) and putters.
#define FL_QUEUE_GET 0
#define FL_QUEUE_PUT 1
/// Initialises a queue header (two free process-shared locks) for a ring of `capacity` bytes.
int fl_queue_init(void *q, uint64_t capacity, uint64_t max_items);
/// Locks one side (FL_QUEUE_GET or FL_QUEUE_PUT): 0, or 1 when its holder had died (recovered:
/// its put, take or task_done finished or undone). A caller that needs both locks takes the get
/// side's first.
int fl_queue_lock(void *q, int side);
/// A side lock's owner word for the calling thread: its thread id (low 30 bits) and its start
/// time (/proc's starttime, low 32 bits) in the high word.
uint64_t fl_queue_lock_word_of_caller(void);
/// 1 when the thread an owner word names is alive (0: gone, a zombie, or its id now belongs to
/// a thread that started at another time): a locker takes a dead holder's lock over.
int fl_queue_lock_holder_alive(uint64_t word);
/// Ends the side's operation in progress (it is the caller's now) and unlocks the side; returns
/// 1 when the other side has a waiter asleep (after a put or take: wake it with fl_queue_wake).
int fl_queue_unlock(void *q, int side);
/// The ring bytes one record of `len` payload bytes takes.
uint64_t fl_queue_record_size(uint32_t len);
/// Under the put lock: 1 when a record of `len` bytes fits now (count and bytes), else 0 (and
/// `fl_queue_seen(q, 1)` is the space word's value that check saw).
int fl_queue_has_room(void *q, uint32_t len);
/// Under the put lock: appends a record, commits `pending_record` (a reserved trace record, or
/// NULL) and publishes the record (the unlock says whether a getter waits). If this process dies
/// before the unlock, the next putter keeps a published record (counted unfinished when
/// `joinable`) and forgets an unpublished one.
void fl_queue_write(void *q, const void *payload, uint32_t len, uint32_t type, uint64_t puid, uint64_t seq,
                    int joinable, void *pending_record);
/// Under the get lock: the oldest record's header; 0 when the ring is empty (and
/// `fl_queue_seen(q, 0)` is the data word's value that check saw).
int fl_queue_peek(void *q, uint32_t *len, uint32_t *type, uint64_t *puid, uint64_t *seq);
/// Under the get lock: copies the oldest record's payload out and removes it (the unlock says
/// whether a putter waits).
/// If this process dies before the unlock, the item is counted lost (`fl_queue_lost`) and, when
/// `joinable`, taken out of `unfinished` (no taskDone will come for it).
void fl_queue_take(void *q, void *dst, uint32_t len, int joinable);
/// fl_queue_put_now / fl_queue_get_now results (bits; a negative result is -errno of the lock).
/// DONE: put, or got into `dst`; RECOVERED: the side's lock was recovered from a holder that
/// died; LOCKED (get): the oldest record is larger than `room`: the get lock is still held, the
/// caller takes it (fl_queue_take) and unlocks. Neither DONE nor LOCKED: full (empty), and
/// `seen` is the futex word's value that the check saw.
#define FL_QUEUE_DONE 1
#define FL_QUEUE_RECOVERED 2
#define FL_QUEUE_LOCKED 4
/// (traced calls) Reserving the event failed: the trace was cut (fl_trace_failure says why).
#define FL_QUEUE_TRACE_CUT 8
/// The oldest record's header, as fl_queue_get_now found it.
typedef struct fl_queue_item {
  uint32_t len, type;
  uint64_t puid, seq;
  uint32_t seen;
} fl_queue_item;
/// What a traced put or get records: the send and recv kinds and argument layouts (as
/// fl_trace_record_words takes them) and the queue's channel id.
typedef struct fl_queue_events {
  uint16_t send_kind, recv_kind;
  uint32_t send_layout, recv_layout;
  uint64_t id;
} fl_queue_events;
/// A put in one call: locks the put side, checks for room, writes, publishes, unlocks and wakes a
/// sleeping getter. With `events` (traced) the `send` (id, length, 0, 0) is reserved under the
/// lock and committed just before the item is published.
int fl_queue_put_now(void *q, const void *payload, uint32_t len, uint32_t type, int joinable, uint32_t *seen,
                     const fl_queue_events *events);
/// A get in one call: locks the get side, takes the oldest record into `dst` when it fits `room`
/// bytes, unlocks and wakes a sleeping putter. With `events` the `recv` (id, sender puid, send
/// seq, length) is recorded under the lock.
int fl_queue_get_now(void *q, void *dst, uint32_t room, int joinable, fl_queue_item *item,
                     const fl_queue_events *events);
/// Items taken by a process that died holding the lock, before it returned them; the last one's
/// sender puid and send sequence go to `puid` and `seq`.
uint64_t fl_queue_lost(void *q, uint64_t *puid, uint64_t *seq);
/// Messages in the ring (under both locks for an exact figure).
uint64_t fl_queue_count(void *q);
uint64_t fl_queue_capacity(void *q);
uint64_t fl_queue_max_items(void *q);
/// Times the mutex was recovered from a holder that died.
uint64_t fl_queue_recoveries(void *q);
/// Puts not yet matched by a task_done.
int64_t fl_queue_unfinished(void *q);
/// Under the get lock: one task done; -1 when none is unfinished, 1 when join waiters must be
/// woken.
/// If this process dies before the unlock, the next locker finishes it.
int fl_queue_task_done(void *q);
/// A futex word's value now (0 data: the tail's low bits, 1 space: the head's, 2 all tasks done).
uint32_t fl_queue_seq(void *q, int which);
/// Under the side's lock: the value of futex word `which` (0 or 1) that the last failed
/// `fl_queue_peek` (0) or `fl_queue_has_room` (1) saw; a wait on it misses no later change.
uint32_t fl_queue_seen(void *q, int which);
/// Test hook: the calling process will SIGKILL itself at fault `point` (1 put: counted, not yet
/// published; 2 put: published, before the unlock; 3 get: taken, before the unlock; 4 task_done:
/// called, before the count goes down; 0 none).
void fl_queue_set_fault_point(int point);
extern int fl_queue_fault_point_;
void fl_queue_die(void);
/// SIGKILLs the calling process when it set `point` (a test hook: one load and a branch).
static inline void fl_queue_fault(int point) {
  if (__builtin_expect(fl_queue_fault_point_ == point, 0)) fl_queue_die();
}
/// Wakes one (or all) waiters on a futex word.
void fl_queue_wake(void *q, int which, int all);
/// Sleepers counted on word `which` (0 data, 1 space, 2 done); a test hook. A sleeper killed
/// asleep is taken back out by a later wake-up that woke nobody (at most every 100 ms one looks).
uint32_t fl_queue_waiters(void *q, int which);
/// Waits until futex word `which` differs from `seen`: spins `spins` times, then sleeps up to
/// `timeout_ns` (-1 forever, 0 do not sleep). 0 when it changed (or may have), ETIMEDOUT.
int fl_queue_wait(void *q, int which, uint32_t seen, int64_t timeout_ns, int spins);

// MARK: - pool reply rings (ring.c): single producer (a worker), single consumer (the driver)

/// Bytes before a ring's data: its written and consumed positions and the driver's asleep flag.
#define FL_RING_HEADER 256
/// Appends a record (a 4-byte length, then `len` bytes) and publishes it. Returns 1, or 0 when
/// the ring has no room for it (nothing written).
int fl_ring_put(void *base, uint64_t cap, const void *bytes, uint32_t len);
/// A record written in pieces: writes its 4-byte length `len` and returns the position its
/// bytes go at, or UINT64_MAX when the ring has no room for it now (nothing written). The
/// producer then copies the bytes in (``fl_ring_copy_in``) and publishes the record
/// (``fl_ring_publish`` with the position after its last byte): what `fl_ring_put` does in one.
uint64_t fl_ring_reserve(void *base, uint64_t cap, uint32_t len);
/// Copies `len` bytes into the ring at position `at` (wrapping).
void fl_ring_copy_in(void *base, uint64_t cap, uint64_t at, const void *bytes, uint64_t len);
/// Publishes the records written up to position `to`.
void fl_ring_publish(void *base, uint64_t to);
/// The position up to which records are published (sequentially consistent load).
uint64_t fl_ring_written(void *base);
/// The position up to which the driver has consumed.
uint64_t fl_ring_consumed(void *base);
/// Copies `len` bytes from position `at` (wrapping) into `out`.
void fl_ring_copy_out(void *base, uint64_t cap, uint64_t at, void *out, uint64_t len);
/// ``fl_ring_copy_out`` into memory not touched yet (a new array's): a large destination's pages
/// are faulted in with one `madvise(MADV_POPULATE_WRITE)` first instead of one fault a page.
void fl_ring_copy_out_fresh(void *base, uint64_t cap, uint64_t at, void *out, uint64_t len);
/// Gives the bytes before `to` back to the producer.
void fl_ring_consume(void *base, uint64_t to);
/// The driver says it is about to sleep (1) or is awake (0).
void fl_ring_set_sleeping(void *base, uint32_t value);
/// The worker announces what it has written so far; returns 1 (and clears the flag) when the
/// driver said it sleeps: the caller must wake it.
int fl_ring_announce(void *base);
/// The position the worker last announced.
uint64_t fl_ring_announced(void *base);
/// The consumer side of a task ring (driver to worker; the same layout, roles swapped): raises
/// the asleep flag and, unless records past `read_at` were announced, sleeps on it (a process-
/// shared futex) until the producer wakes it or `timeout_ns` passes. 1 woken (or not slept),
/// 0 timed out.
int fl_ring_sleep(void *base, uint64_t read_at, uint64_t timeout_ns);
/// The producer of a task ring: announces what it wrote and wakes the consumer only if it said
/// it sleeps (no system call otherwise). 1 when it woke it.
int fl_ring_announce_wake(void *base);
/// Wakes the consumer whatever it announced (the driver, before it closes the worker's end).
void fl_ring_wake(void *base);

// MARK: - the recorder's clock (trace_clock.c)

/// CLOCK_MONOTONIC in ns, read from the TSC where the kernel keeps CLOCK_MONOTONIC with it
/// (within ~0.1 us of clock_gettime), never decreasing. Not thread-safe: under the recorder's lock.
uint64_t fl_trace_clock_ns(void);

// MARK: - page-fault counter (counters.c), for tests

/// Opens a counter of the page faults this thread takes in user mode (a software perf event);
/// returns its descriptor or -errno (EACCES under a strict perf_event_paranoid, ENOSYS).
int fl_page_fault_counter_open(void);
/// The faults counted so far, or -1.
int64_t fl_page_fault_counter_read(int fd);

// MARK: - malloc (malloc.c)

/// mallopt: blocks up to `mmap_threshold` bytes come from the heap (not fresh mappings), and the
/// heap's top is trimmed only past `trim_threshold` (a pool worker keeps its large buffers).
void fl_malloc_keep_large(int mmap_threshold, int trim_threshold);

#ifdef __cplusplus
}
#endif
#endif
