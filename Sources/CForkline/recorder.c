// The trace recorder's hot path: reserve a record in a memory-mapped, MAP_SHARED file, fill it,
// publish it by storing its size last. Stores into a shared file mapping land in the page cache
// as they execute, so every committed record survives SIGKILL of the process.
// Format: docs/trace-format.md.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"
#include "fl_internal.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

// A process's first chunk is one page: most processes a program starts record a few hundred
// bytes (header, start, exit), and every page of a chunk costs at start (posix_fallocate, the
// populated mapping) and at exit (the ftruncate frees the unused blocks; on ext4 without a
// journal, mounted with `discard`, that is a synchronous discard). A 256 KiB first chunk cost a
// fork child ~0.3 ms on ext4 (docs/benchmarks.md, 2026-11-26). Chunks double from there, so a
// busy process reaches MAX_CHUNK after a few more small grows. MAX_CHUNK bounds the made and
// unused tail of the last chunk (every page of it made, then freed by the ftruncate at exit: a
// 16 MiB bound left 5.5 MB of a 11.2 MB queue consumer's trace made for nothing); MAX_MAPS
// chunks of it make a file of up to 8 GiB.
#define MIN_FIRST_CHUNK 4096u
#define MAX_CHUNK (2u * 1024u * 1024u)
#define MAX_MAPS 4096
// From a chunk of this size on, the next chunk is made ahead by the grower thread (below).
#define AHEAD_MIN_CHUNK (64u * 1024u)
#define CUT_RESERVE 64  // always room left for the trace-cut record
// Always room left in the current chunk for the crash writer's record (header, signal, code,
// address, pc, and crash.c's MAX_FRAMES = 64 frames), so that it never grows the file (no
// posix_fallocate or mmap in a signal handler).
#define CRASH_RESERVE (FL_TRACE_RECORD_HEADER + 4 + 4 + 8 + 8 + 2 + 8 * 64 + 6)
_Static_assert(CRASH_RESERVE % 8 == 0, "records are 8-byte aligned");
_Static_assert(FL_TRACE_MAX_PAYLOAD == 0xFFFF * 8 - FL_TRACE_RECORD_HEADER, "a record's size in words is a u16");

// SILENT: recording turned off for good by the crash writer, mappings kept (fl_trace_silence).
// CLOSED: the file was closed (or could not be linked) with its mappings kept: another thread
// may still hold a reserved record, and writes into it must land in mapped memory.
enum { OFF = 0, ON = 1, FAILED = 2, SILENT = 3, CLOSED = 4 };

static struct {
  atomic_int state;
  atomic_int lock;      // 1 while held (an int, not an atomic_flag: a fork child can read it)
  atomic_int inflight;  // records reserved and not yet committed
  int fd;
  uint64_t seq;
  uint64_t puid;     // the open file's process id (its header's)
  char *base;        // current chunk
  size_t chunk_off;  // file offset of current chunk
  size_t chunk_len;
  size_t pos;        // used bytes in current chunk
  int failure;
  int unlinked;     // created with O_TMPFILE, not yet linked under `path`
  char path[4096];
  int nmaps;
  struct { void *base; size_t len; } maps[MAX_MAPS];
} R = {.fd = -1};

uint64_t fl_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t fl_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// Returns 1 when locked. `bounded` (signal handlers): give up rather than spin forever, since the
// interrupted code may be the holder.
static int lock(int bounded) {
  unsigned spins = 0;
  while (atomic_exchange_explicit(&R.lock, 1, memory_order_acquire)) {
    if (++spins % 256 == 0) {
      if (bounded && spins > 256u * 2000u) return 0;
      sched_yield();
    } else {
      fl_pause();
    }
  }
  return 1;
}

static void unlock(void) { atomic_store_explicit(&R.lock, 0, memory_order_release); }

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

// Maps every page of a new chunk writable now, so that recording takes no page fault. MAP_POPULATE
// is not enough for a MAP_SHARED file mapping: it maps the pages read-only, and on a file system
// that tracks dirty pages (ext4) the first store into each page then took a write-protect fault
// (ext4_page_mkwrite): perf showed 27% of the recording path's time there, one fault per ~100
// events. MADV_POPULATE_WRITE takes those faults in one call. Before Linux 5.14 it is missing
// (EINVAL) and a read of each page does what MAP_POPULATE did; any other failure leaves the pages
// to fault on first use, slower and as safe (posix_fallocate reserved the blocks).
static atomic_int populate_write_missing;  // the recording thread's and the grower's

static void populate_for_writing(char *p, size_t len) {
  if (!atomic_load_explicit(&populate_write_missing, memory_order_relaxed)) {
    if (madvise(p, len, MADV_POPULATE_WRITE) == 0 || errno != EINVAL) return;
    atomic_store_explicit(&populate_write_missing, 1, memory_order_relaxed);
  }
  long page = sysconf(_SC_PAGESIZE);
  for (size_t i = 0; i < len; i += (size_t)page) (void)*(volatile char *)(p + i);
}

// Makes the chunk at `off` of `fd`: reserves its blocks and maps its pages writable. No state of
// the recorder is touched, so the grower thread runs it without the lock.
static int make_chunk(int fd, size_t off, size_t len, char **out) {
  // Past RLIMIT_FSIZE (`ulimit -f`) the kernel raises SIGXFSZ, whose default action kills the
  // process, before posix_fallocate can return EFBIG: ask first.
  struct rlimit fsize;
  if (getrlimit(RLIMIT_FSIZE, &fsize) == 0 && fsize.rlim_cur != RLIM_INFINITY &&
      (rlim_t)(off + len) > fsize.rlim_cur)
    return EFBIG;
  int rc = posix_fallocate(fd, (off_t)off, (off_t)len);  // ENOSPC now, never SIGBUS later
  if (rc) return rc;
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
  if (p == MAP_FAILED) return errno;
  populate_for_writing(p, len);
  *out = p;
  return 0;
}

static void ahead_arm(void);

// Makes the chunk at `off` the current one (the caller checked that a map is free).
static void adopt_chunk(char *p, size_t off, size_t len) {
  R.maps[R.nmaps].base = p;
  R.maps[R.nmaps].len = len;
  R.nmaps++;
  R.base = p;
  R.chunk_off = off;
  R.chunk_len = len;
  R.pos = 0;
  ahead_arm();
}

static int map_chunk(size_t off, size_t len) {
  if (R.nmaps == MAX_MAPS) return ENOMEM;
  char *p;
  int rc = make_chunk(R.fd, off, len, &p);
  if (rc) return rc;
  adopt_chunk(p, off, len);
  return 0;
}

// MARK: - the grower thread: a busy process's next chunk is made while the current one fills
//
// Making a chunk's pages is the kernel's work (posix_fallocate allocates and zeroes them,
// MADV_POPULATE_WRITE maps them): ~2 us a page on tmpfs here, against ~1.5 us to fill a page
// with records, so a traced queue put+get spent most of its time there (docs/trace-format.md,
// "What recording costs"). From a chunk of AHEAD_MIN_CHUNK on, adopting a chunk asks a thread of
// the process's own (made at the first ask, signals blocked) to make the next one; the grow that
// needs it takes it when made, waits for it while it is being made, and makes it itself when the
// grower has not begun (on a loaded machine the grower may not have had a CPU yet: waiting for it
// made a flat-out recorder's events 40-60% slower in wall time). The guarantees stay the grow's: the blocks are
// reserved before a record is written into them, a failure (ENOSPC, EFBIG) cuts the trace when
// the current chunk is full, exactly where a grow on the recording thread would have; the crash
// writer still never grows. The thread touches none of the recorder's state but `A`, takes no
// lock (only system calls: safe in a fork child of a process it runs in, and in the forkserver's
// raw clone), and is joined before the file is truncated and closed. A fork child has no grower:
// its first ask makes its own.
enum { AHEAD_IDLE = 0, AHEAD_ASKED = 1, AHEAD_MAKING = 2, AHEAD_MADE = 3, AHEAD_STOP = 4 };

static struct {
  _Atomic uint32_t state;  // a futex word: AHEAD_IDLE, ASKED, MAKING or MADE, | AHEAD_STOP to end
  int running;             // the thread exists (changed under R.lock, or with no recording)
  int unavailable;         // the thread could not be made: grow on the recording thread
  pthread_t thread;
  int fd;                  // what is asked (written before ASKED is stored)
  size_t off, len;
  char *made;              // the answer (written before MADE is stored)
  int rc;
} A;

static void ahead_wake(int count) { (void)fl_futex_wake_private((uint32_t *)&A.state, count); }

static void *ahead_main(void *unused) {
  (void)unused;
  for (;;) {
    uint32_t s = atomic_load_explicit(&A.state, memory_order_acquire);
    if (s & AHEAD_STOP) return NULL;
    if (s != AHEAD_ASKED) {
      (void)fl_futex_wait_private((uint32_t *)&A.state, s);
      continue;
    }
    // The recording thread may take the ask back first (ahead_take): then it makes the chunk.
    if (!atomic_compare_exchange_strong(&A.state, &s, AHEAD_MAKING)) continue;
    char *p = NULL;
    A.rc = make_chunk(A.fd, A.off, A.len, &p);
    A.made = p;
    // MAKING -> MADE, keeping a STOP that came meanwhile.
    atomic_fetch_add_explicit(&A.state, AHEAD_MADE - AHEAD_MAKING, memory_order_acq_rel);
    ahead_wake(INT_MAX);
  }
}

static int ahead_start(void) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return -1;
  (void)pthread_attr_setstacksize(&attr, 64 * 1024);
  // The thread inherits this mask: every signal stays with the program's own threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(&A.thread, &attr, ahead_main, NULL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  if (rc != 0) return -1;
  (void)pthread_setname_np(A.thread, "forkline-trace");
  A.running = 1;
  return 0;
}

static size_t next_chunk_len(size_t current, size_t need) {
  size_t len = current * 2 > MAX_CHUNK ? MAX_CHUNK : current * 2;
  while (len < need) len *= 2;
  return len;
}

// Under the lock, as a chunk becomes the current one: asks for its successor.
static void ahead_arm(void) {
  if (R.chunk_len < AHEAD_MIN_CHUNK || A.unavailable || R.nmaps + 1 >= MAX_MAPS) return;
  if (atomic_load_explicit(&A.state, memory_order_relaxed) != AHEAD_IDLE) return;
  if (!A.running && ahead_start() != 0) {
    A.unavailable = 1;
    return;
  }
  A.fd = R.fd;
  A.off = R.chunk_off + R.chunk_len;
  A.len = next_chunk_len(R.chunk_len, 0);
  atomic_store_explicit(&A.state, AHEAD_ASKED, memory_order_release);
  ahead_wake(1);
}

// Under the lock: the chunk asked for, once made: -1 when none was asked or the grower had not
// begun (the ask is taken back: the caller makes it), else the making's result, and on success
// the chunk is `*off`, `*len` at `*out`.
static int ahead_take(char **out, size_t *off, size_t *len) {
  uint32_t s = AHEAD_ASKED;
  if (atomic_compare_exchange_strong(&A.state, &s, AHEAD_IDLE)) return -1;
  while ((s = atomic_load_explicit(&A.state, memory_order_acquire)) == AHEAD_MAKING)
    (void)fl_futex_wait_private((uint32_t *)&A.state, s);
  if (s != AHEAD_MADE) return -1;
  *out = A.made;
  *off = A.off;
  *len = A.len;
  A.made = NULL;
  atomic_store_explicit(&A.state, AHEAD_IDLE, memory_order_relaxed);
  return A.rc;
}

// Ends the grower (no recording thread can ask any more: the state is CLOSED, or the caller holds
// the lock) and unmaps a chunk it made that nobody took. Before the file is truncated or closed.
static void ahead_stop(void) {
  if (A.running) {
    atomic_fetch_or_explicit(&A.state, AHEAD_STOP, memory_order_acq_rel);
    ahead_wake(INT_MAX);
    pthread_join(A.thread, NULL);
    A.running = 0;
  }
  if ((atomic_load(&A.state) & ~(uint32_t)AHEAD_STOP) == AHEAD_MADE && A.made) munmap(A.made, A.len);
  A.made = NULL;
  atomic_store(&A.state, AHEAD_IDLE);
}

int fl_trace_ahead_pending(void) {
  uint32_t s = atomic_load_explicit(&A.state, memory_order_acquire);
  return s == AHEAD_ASKED || s == AHEAD_MAKING;
}

// In a fork child: the grower was the parent's thread. A chunk it had made is the parent's.
// Like fl_trace_forget_after_fork, it writes only what is not already so.
static void ahead_forget_after_fork(void) {
  if (atomic_load(&A.state) == AHEAD_MADE && A.made) munmap(A.made, A.len);
  if (A.made) A.made = NULL;
  if (A.running) A.running = 0;
  if (A.unavailable) A.unavailable = 0;
  if (atomic_load(&A.state) != AHEAD_IDLE) atomic_store(&A.state, AHEAD_IDLE);
}

static void put_header(char *rec, uint32_t size, uint16_t kind, uint64_t seq, uint64_t t) {
  // Kind and size in words in one store: a writer killed mid-header leaves both or neither
  // (a reader steps over a reserved record by its words; kind alone is unreadable garbage).
  uint16_t words = (uint16_t)(size / 8);
  __atomic_store_n((uint32_t *)(rec + 4), (uint32_t)kind | ((uint32_t)words << 16), __ATOMIC_RELAXED);
  memcpy(rec + 8, &seq, 8);
  memcpy(rec + 16, &t, 8);
}

static void publish(char *rec, uint32_t size) {
  __atomic_store_n((uint32_t *)rec, size, __ATOMIC_RELEASE);
}

// Publishes the record whose payload is at `payload`, at the size in words it was reserved with.
static void publish_payload(void *payload) {
  char *rec = (char *)payload - FL_TRACE_RECORD_HEADER;
  uint16_t words;
  memcpy(&words, rec + 6, 2);
  publish(rec, (uint32_t)words * 8u);
}

int fl_trace_open(const char *path, uint64_t puid, int32_t pid, int32_t ppid, uint64_t start_ns,
                  uint64_t realtime_ns, uint64_t host) {
  int prior = atomic_load(&R.state);
  if (prior != OFF && prior != CLOSED) return -EBUSY;
  // The mappings of a closed recorder can go once no reserved record is left in them.
  if (prior == CLOSED && atomic_load(&R.inflight) == 0) {
    for (int i = 0; i < R.nmaps; i++) munmap(R.maps[i].base, R.maps[i].len);
  }
  // The file appears under its name only at fl_trace_link, once the caller has recorded its first
  // events (O_TMPFILE, then linkat): a process killed while opening its trace leaves no
  // half-made file behind.
  char dir[4096];
  const char *slash = strrchr(path, '/');
  size_t dlen = slash ? (size_t)(slash - path) : 1;
  if (dlen >= sizeof dir) return -ENAMETOOLONG;
  memcpy(dir, slash ? path : ".", dlen);
  dir[dlen] = 0;
  if (dlen == 0) { dir[0] = '/'; dir[1] = 0; }
  int anonymous = 1;
  int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0) {
    anonymous = 0;  // a file system without O_TMPFILE
    fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  }
  if (fd < 0) return -errno;
  R.fd = fd;
  R.puid = puid;
  R.nmaps = 0;
  R.seq = 0;
  R.failure = 0;
  // Every chunk's offset must be a multiple of the page size: a page, or 4 KiB if pages are smaller.
  long page = sysconf(_SC_PAGESIZE);
  size_t first = page > (long)MIN_FIRST_CHUNK ? (size_t)page : MIN_FIRST_CHUNK;
  int rc = map_chunk(0, first);
  if (rc) {
    close(fd);
    if (!anonymous) unlink(path);
    R.fd = -1;
    return -rc;
  }
  char *h = R.base;
  memcpy(h, FL_TRACE_MAGIC, 8);
  uint16_t version = FL_TRACE_VERSION, hsize = FL_TRACE_FILE_HEADER;
  uint32_t flags = 0;
  memcpy(h + 8, &version, 2);
  memcpy(h + 10, &hsize, 2);
  memcpy(h + 12, &flags, 4);
  memcpy(h + 16, &pid, 4);
  memcpy(h + 20, &ppid, 4);
  memcpy(h + 24, &puid, 8);
  memcpy(h + 32, &start_ns, 8);
  memcpy(h + 40, &realtime_ns, 8);
  memcpy(h + 48, &host, 8);
  R.pos = FL_TRACE_FILE_HEADER;
  R.unlinked = anonymous;
  if (anonymous) {
    size_t n = strlen(path);
    if (n >= sizeof R.path) n = sizeof R.path - 1;
    memcpy(R.path, path, n);
    R.path[n] = 0;
  }
  atomic_store(&R.state, ON);
  return 0;
}

int fl_trace_link(void) {
  if (!R.unlinked) return 0;
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", R.fd);
  if (linkat(AT_FDCWD, proc, AT_FDCWD, R.path, AT_SYMLINK_FOLLOW) != 0) {
    int err = errno;
    // Recording stops; the mappings stay (another thread may be writing a record), so the
    // unnamed file vanishes at exit rather than now.
    lock(0);
    atomic_store(&R.state, CLOSED);
    ahead_stop();
    close(R.fd);
    R.fd = -1;
    unlock();
    return -err;
  }
  R.unlinked = 0;
  return 0;
}

int fl_trace_enabled(void) { return atomic_load_explicit(&R.state, memory_order_relaxed) == ON; }

int fl_trace_failure(void) { return R.failure; }

uint64_t fl_trace_puid(void) { return R.puid; }

uint64_t fl_trace_next_seq(void) {
  lock(0);
  uint64_t s = R.seq;
  unlock();
  return s;
}

// A padding record over a chunk's unused tail of `left` bytes at `at`.
static void pad_tail(char *at, size_t left) {
  if (left < 8) return;
  uint16_t kind = FL_KIND_PADDING;
  memcpy(at + 4, &kind, 2);
  uint16_t words = left / 8 > 0xFFFF ? 0 : (uint16_t)(left / 8);
  memcpy(at + 6, &words, 2);
  publish(at, (uint32_t)left);
}

// Called with the lock held when the current chunk cannot take `size` more bytes.
static int grow(uint32_t size) {
  size_t need = size + CUT_RESERVE + CRASH_RESERVE;
  for (;;) {
    char *made;
    size_t off, len;
    int rc = ahead_take(&made, &off, &len);
    if (rc < 0) break;      // none asked, or not begun: made here
    if (rc > 0) return rc;  // as a grow here would have failed: the cut goes into the reserve
    char *tail = R.base + R.pos;
    size_t left = R.chunk_len - R.pos;
    adopt_chunk(made, off, len);  // asks for the next (ahead_arm checked that a map is free)
    pad_tail(tail, left);
    if (R.pos + need <= R.chunk_len) return 0;
    // A record too large for the chunk made ahead (a chunk under MAX_CHUNK): that chunk is
    // skipped as padding, and the one asked for next, twice as large, is waited for.
  }
  // Keep the current chunk's tail intact until the new chunk exists: if growing fails, the cut
  // record goes into the reserve.
  char *tail = R.base + R.pos;
  size_t left = R.chunk_len - R.pos;
  int rc = map_chunk(R.chunk_off + R.chunk_len, next_chunk_len(R.chunk_len, need));
  if (rc) return rc;
  pad_tail(tail, left);
  return 0;
}

// `in_signal`: the crash writer, which never grows the file: its record goes into the room every
// other reservation leaves (CRASH_RESERVE). `in_signal` 2: an ordinary record that its caller
// fills and publishes before it unlocks (fl_trace_record_words), so it is never in flight.
static void *reserve_locked(uint16_t kind, uint32_t payload_len, uint64_t *seq_out, int in_signal) {
  uint32_t size = (FL_TRACE_RECORD_HEADER + payload_len + 7u) & ~7u;
  if (in_signal == 1) {
    if (R.pos + size + CUT_RESERVE > R.chunk_len) return NULL;
  } else if (R.pos + size + CUT_RESERVE + CRASH_RESERVE > R.chunk_len) {
    int rc = grow(size);
    if (rc) {
      // Record where and why the trace was cut, in the reserve, then stop tracing.
      R.failure = rc;
      char *rec = R.base + R.pos;
      uint32_t cut_size = FL_TRACE_RECORD_HEADER + 8;
      uint64_t s = R.seq++;
      put_header(rec, cut_size, FL_KIND_TRACE_CUT, s, fl_trace_clock_ns());
      int32_t err = rc, pad = 0;
      memcpy(rec + 24, &err, 4);
      memcpy(rec + 28, &pad, 4);
      publish(rec, cut_size);
      R.pos += cut_size;
      atomic_store(&R.state, FAILED);
      return NULL;
    }
  }
  char *rec = R.base + R.pos;
  R.pos += size;
  uint64_t s = R.seq++;
  put_header(rec, size, kind, s, fl_trace_clock_ns());
  if (in_signal != 2) atomic_fetch_add_explicit(&R.inflight, 1, memory_order_relaxed);
  if (seq_out) *seq_out = s;
  return rec + FL_TRACE_RECORD_HEADER;
}

// An event too large for a record (its size in words is a u16) is replaced by a record that
// says so: the reader would otherwise stop at a wrapped size and lose every later event.
static void record_dropped(uint16_t kind, uint32_t payload_len) {
  char *p = reserve_locked(FL_KIND_EVENT_TRUNCATED, 25, NULL, 0);
  if (!p) return;
  uint64_t k = kind, needed = payload_len, seq = 0;
  uint8_t recorded = 0;
  memcpy(p, &k, 8);
  memcpy(p + 8, &needed, 8);
  memcpy(p + 16, &seq, 8);
  memcpy(p + 24, &recorded, 1);
  fl_trace_commit(p);
}

void *fl_trace_reserve(uint16_t kind, uint32_t payload_len, uint64_t *seq_out) {
  if (atomic_load_explicit(&R.state, memory_order_relaxed) != ON) return NULL;
  if (payload_len > FL_TRACE_MAX_PAYLOAD) {
    lock(0);
    if (atomic_load_explicit(&R.state, memory_order_relaxed) == ON) record_dropped(kind, payload_len);
    unlock();
    return NULL;
  }
  lock(0);
  void *p = atomic_load_explicit(&R.state, memory_order_relaxed) == ON
                ? reserve_locked(kind, payload_len, seq_out, 0)
                : NULL;
  unlock();
  return p;
}

void *fl_trace_reserve_final(uint16_t kind, uint32_t payload_len) {
  if (payload_len > FL_TRACE_MAX_PAYLOAD) return NULL;
  lock(0);
  void *p = NULL;
  if (atomic_load_explicit(&R.state, memory_order_relaxed) == ON) {
    p = reserve_locked(kind, payload_len, NULL, 0);
    // Under the lock that orders every reservation: no other thread's record follows this one.
    int on = ON;
    atomic_compare_exchange_strong(&R.state, &on, SILENT);
  }
  unlock();
  return p;
}

void fl_trace_silence(void) {
  int on = ON;
  atomic_compare_exchange_strong(&R.state, &on, SILENT);
}

// Used by the crash writer, after fl_trace_silence: bounded wait on the lock.
void *fl_trace_reserve_in_signal(uint16_t kind, uint32_t payload_len) {
  // FAILED too: after a trace cut the crash room is still there, and the crash is worth having.
  int st = atomic_load_explicit(&R.state, memory_order_relaxed);
  if (st != ON && st != SILENT && st != FAILED) return NULL;
  if (payload_len > FL_TRACE_MAX_PAYLOAD) return NULL;
  if (!lock(1)) return NULL;
  st = atomic_load_explicit(&R.state, memory_order_relaxed);
  void *p = st == ON || st == SILENT || st == FAILED ? reserve_locked(kind, payload_len, NULL, 1) : NULL;
  unlock();
  return p;
}

// Writes up to four u64/u8 values at `p` as `layout` says (fl_trace_record_words).
static void encode_words(char *p, uint32_t layout, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint32_t count = layout & 0xFF, bytes = (layout >> 8) & 0xFF, off = 0;
  uint64_t v[4] = {a, b, c, d};
  for (uint32_t i = 0; i < count && i < 4; i++) {
    if (bytes & (1u << i)) {
      p[off++] = (char)(uint8_t)v[i];
    } else {
      memcpy(p + off, &v[i], 8);  // little-endian, as the format says (x86_64, arm64)
      off += 8;
    }
  }
}

int fl_trace_record_words(uint16_t kind, uint32_t layout, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  // One lock, no in-flight count: the record is filled and published before the unlock, so an
  // exit never finds it half-written (the in-flight count's two atomic additions were two of the
  // three locked instructions of a small record's path).
  if (atomic_load_explicit(&R.state, memory_order_relaxed) != ON) return 0;
  lock(0);
  if (atomic_load_explicit(&R.state, memory_order_relaxed) != ON) {
    unlock();
    return 0;
  }
  char *p = reserve_locked(kind, layout >> 16, NULL, 2);
  if (!p) {
    unlock();
    return -1;
  }
  encode_words(p, layout, a, b, c, d);
  publish_payload(p);
  unlock();
  return 1;
}

int fl_trace_record_counted(uint16_t kind, const void *bytes, uint32_t count, uint64_t *seq) {
  // As fl_trace_record_words: one lock, no in-flight count, the record published before the
  // unlock. A mark's reserve + copy + commit took the in-flight count's two locked additions and
  // two calls more (callgrind and the --recording rows, docs/benchmarks.md).
  if (atomic_load_explicit(&R.state, memory_order_relaxed) != ON) return 0;
  if (count > 0xFFFFu) return -2;
  lock(0);
  if (atomic_load_explicit(&R.state, memory_order_relaxed) != ON) {
    unlock();
    return 0;
  }
  char *p = reserve_locked(kind, 2u + count, seq, 2);
  if (!p) {
    unlock();
    return -1;
  }
  uint16_t n = (uint16_t)count;
  memcpy(p, &n, 2);  // little-endian, as the format says (x86_64, arm64)
  if (count) memcpy(p + 2, bytes, count);
  publish_payload(p);
  unlock();
  return 1;
}

void *fl_trace_reserve_words(uint16_t kind, uint32_t layout, uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t *seq) {
  void *p = fl_trace_reserve(kind, layout >> 16, seq);
  if (p) encode_words(p, layout, a, b, c, d);
  return p;
}

void fl_trace_commit(void *payload) {
  publish_payload(payload);
  atomic_fetch_sub_explicit(&R.inflight, 1, memory_order_release);
}

// Waits up to 250 ms for the records other threads reserved to be committed, so that a clean
// exit leaves no half-written record. A writer copies for microseconds, but on a loaded machine
// it may have been preempted mid-copy: 50 ms left one record in 200 exits half-written at a
// load average of 18 on 2 cores. (A thread holding a reservation across a blocking write, as a
// send to a full pipe does, delays the exit by the whole bound.)
static void wait_for_writers(void) {
  uint64_t start = fl_monotonic_ns(), deadline = start + 250000000ull;
  while (atomic_load_explicit(&R.inflight, memory_order_acquire) > 0) {
    uint64_t now = fl_monotonic_ns();
    if (now >= deadline) break;
    if (now - start < 1000000ull) {
      sched_yield();
    } else {
      struct timespec ms = {0, 1000000};  // sleeping lets a preempted writer have the CPU
      nanosleep(&ms, NULL);
    }
  }
}

void fl_trace_close(void) {
  // Recording stops for every thread, but nothing is unmapped: a thread between reserve and
  // commit writes into mapped memory, below the length the file keeps.
  lock(0);
  int st = atomic_load(&R.state);
  if (st == OFF || st == CLOSED) {
    unlock();
    return;
  }
  atomic_store(&R.state, CLOSED);
  off_t used = (off_t)(R.chunk_off + R.pos);
  int fd = R.fd;
  R.fd = -1;
  unlock();
  ahead_stop();  // its posix_fallocate would grow the file again past the truncation
  wait_for_writers();
  if (ftruncate(fd, used) != 0) { /* the reader stops at the first empty record anyway */ }
  close(fd);
}

void fl_trace_forget_after_fork(void) {
  // Only this thread exists now; another thread may have held the lock at fork time. A word is
  // written only when it is not already what it must be: the child of a process that is not
  // tracing then writes none of the recorder's pages, each of which would be a copy-on-write
  // fault of its own (three a start+join, measured in forkserver and fork children).
  if (atomic_load(&R.lock)) atomic_store(&R.lock, 0);
  if (atomic_load(&R.inflight)) atomic_store(&R.inflight, 0);
  ahead_forget_after_fork();
  for (int i = 0; i < R.nmaps; i++) munmap(R.maps[i].base, R.maps[i].len);
  if (R.nmaps) R.nmaps = 0;
  if (R.fd >= 0) {
    close(R.fd);
    R.fd = -1;
  }
  if (atomic_load(&R.state) != OFF) atomic_store(&R.state, OFF);
}
