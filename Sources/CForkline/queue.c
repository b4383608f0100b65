// The shared-memory ring under Forkline's Queue family (docs/channels.md, "Queues").
//
// One memfd segment holds a header and a byte ring of records: u32 length, u32 type, then (a
// traced put's record only, RECORD_SENDER in the type) u64 sender puid and u64 send sequence,
// then the payload, padded to 8 bytes; a record may wrap around the ring's end. Positions only
// grow (offset = position % capacity).
//
// Two sides, each with its own process-shared lock (an owner word, below) beside its state on
// its own cache lines: putters (puts, joinable puts) and getters (gets, task_dones, lost items);
// the tail and the head each alone on a line, the only words the other side reads per item. A put writes
// its record past the tail and publishes it by storing the tail; a get copies the oldest record
// out and frees it by storing the head. So a producer never waits for a consumer's critical
// section nor the other way, and with one producer and one consumer neither lock is contended:
// each side reads the other's position only when its cached copy says the ring is empty or full
// (as a single-producer single-consumer ring does). Each side keeps its own undo record (the
// operation in progress and the state before it): a process killed while holding a side's lock
// leaves it for the next locker of that side (which finds its holder dead), which finishes or
// undoes it. Counts
// are differences of the two sides' totals: items = puts - gets, unfinished = joinable puts -
// task_dones - lost joinable items.
//
// Waiting is outside the locks: a getter waits for the tail to move (its low 32 bits are the
// futex word), a putter for the head, a joiner for the done word. A waiter spins briefly watching
// the word, then counts itself a waiter and sleeps; a put (get) wakes only when a getter (putter)
// is counted, so no system call is made while the peer is awake. An untraced put or get is one
// call (fl_queue_put_now, fl_queue_get_now) and two locked instructions: the lock's
// compare-and-swap and its unlock's exchange, which is also the barrier between publishing and
// reading the waiter count.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"
#include "fl_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum { OP_NONE = 0, OP_PUT = 1, OP_TAKE = 2, OP_DONE = 3 };
enum { WAITER_SLOTS = 8 };

// A side's lock: one 64-bit owner word, 0 when free, else the holder's thread id (low 30 bits),
// LOCK_WAITED (bit 31: a locker may be asleep on it; the unlock wakes one) and the holder's
// start time (/proc's starttime, its low 32 bits: the high word) against a reused thread id.
// The low 32 bits are the futex word.
typedef struct fl_owner_lock {
  uint64_t owner;
} fl_owner_lock;

typedef struct fl_queue_header {
  // Line 0: the get side's lock alone (a locker spinning on it does not pull the holder's
  // state lines away in the middle of its section).
  fl_owner_lock get_lock;   // 0
  char pad_gl[64 - sizeof(fl_owner_lock)];
  // Lines 1-2: the get side's state, written only by the lock's holder.
  uint64_t gets;            // records ever taken
  int64_t dones;            // task_dones
  int64_t lost_joinable;    // joinable items lost (taken by a getter that died)
  uint64_t lost, lost_puid, lost_seq;  // lost items, the last one's sender and send sequence
  uint64_t seen_tail;       // the get side's last read of the tail (a cache)
  uint32_t get_op, get_op_joinable;  // the take or task_done in progress (its undo record)
  uint64_t get_op_pos, get_op_gets;  // head and gets before it
  int64_t get_op_dones;
  uint64_t get_op_puid, get_op_seq;  // the taken record's sender and send sequence
  uint32_t empty_seen;      // the tail's low word when a get last found nothing
  char pad0[128 - 108];
  // Line 3: the head alone (putters read it when the ring looks full and sleep on its low word):
  // a getter's other stores do not pull this line away from a putter that watches it.
  uint64_t head;            // byte position of the oldest record
  char pad1[64 - 8];
  // Line 4: the put side's lock alone; lines 5-6: its state, written only by the lock's holder.
  fl_owner_lock put_lock;   // 256
  char pad_pl[64 - sizeof(fl_owner_lock)];
  uint64_t puts;            // records ever published
  int64_t jputs;            // joinable records ever published
  uint64_t seen_head;       // the put side's last read of the head (a cache)
  uint64_t seen_gets;       // ... and of gets
  uint32_t put_op, put_op_joinable;  // the put in progress (its undo record)
  uint64_t put_op_pos, put_op_puts;  // tail and puts before it
  int64_t put_op_jputs;
  uint32_t full_seen;       // the head's low word when a put last found no room
  char pad2[128 - 68];
  // Line 7: the tail alone (getters read it when they catch up and sleep on its low word): the
  // one store a put makes to a line that a getter reads.
  uint64_t tail;            // byte position after the last published record
  char pad3[64 - 8];
  // Line 8: fixed at init (and the rare recovery count).
  uint64_t capacity;        // ring bytes (a multiple of 8)
  uint64_t mask;            // capacity - 1 when a power of two, else 0
  uint64_t max_items;       // 0: no count limit
  uint64_t recoveries;      // times a dead holder's lock was recovered
  char pad4[64 - 32];
  uint32_t waiters[3];      // line 9: getters asleep (on the tail), putters (head), joiners (done)
  char pad5[64 - 12];
  uint32_t done_seq;        // line 10: bumped when the unfinished count may have reached 0
  uint32_t pad_done;
  uint64_t healed_ns;       // when sleepers' slots were last looked at (heal_waiters)
  char pad6[64 - 16];
  // Lines 11-13: who sleeps, per word (a sleeper's lock word, 0: a free slot), so the count of a
  // sleeper killed asleep can be taken back.
  uint64_t sleepers[3][WAITER_SLOTS];
} fl_queue_header;

_Static_assert(sizeof(fl_queue_header) <= FL_QUEUE_HEADER_SIZE, "header fits");
_Static_assert(offsetof(fl_queue_header, gets) == 64 && offsetof(fl_queue_header, head) == 192 &&
               offsetof(fl_queue_header, put_lock) == 256 && offsetof(fl_queue_header, puts) == 320 &&
               offsetof(fl_queue_header, tail) == 448 && offsetof(fl_queue_header, capacity) == 512 &&
               offsetof(fl_queue_header, waiters) == 576 && offsetof(fl_queue_header, done_seq) == 640 &&
               offsetof(fl_queue_header, sleepers) == 704, "cache lines");

// A record's header: one word (length, type) and, when its put was traced, the sender's puid
// and send sequence (RECORD_SENDER set in the type word). An untraced put stores no sender: an
// 8-byte item is then a 16-byte record, four to a cache line instead of two.
#define RECORD_HEAD 24u
#define RECORD_SHORT 8u
#define RECORD_SENDER 0x80000000u

int fl_queue_fault_point_ = 0;

void fl_queue_set_fault_point(int point) { fl_queue_fault_point_ = point; }

void fl_queue_die(void) { kill(getpid(), SIGKILL); }

static inline fl_queue_header *H(void *q) { return (fl_queue_header *)q; }
static inline unsigned char *ring(void *q) { return (unsigned char *)q + FL_QUEUE_HEADER_SIZE; }
static inline uint64_t padded(uint64_t n) { return (n + 7u) & ~(uint64_t)7u; }
static inline uint64_t offset(fl_queue_header *h, uint64_t pos) { return h->mask ? pos & h->mask : pos % h->capacity; }
static inline uint64_t load(uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline int64_t max0(int64_t v) { return v > 0 ? v : 0; }

int fl_queue_init(void *q, uint64_t capacity, uint64_t max_items) {
  fl_queue_header *h = H(q);
  memset(h, 0, sizeof *h);  // both locks free
  h->capacity = capacity;
  h->mask = (capacity & (capacity - 1)) == 0 ? capacity - 1 : 0;
  h->max_items = max_items;
  return 0;
}

// Copies at ring offset `off` (8-aligned), wrapping at the ring's end.
static void copy_in(void *q, uint64_t off, const void *src, uint64_t n) {
  uint64_t cap = H(q)->capacity, first = n < cap - off ? n : cap - off;
  memcpy(ring(q) + off, src, first);
  if (n > first) memcpy(ring(q), (const unsigned char *)src + first, n - first);
}

static void copy_out(void *q, uint64_t off, void *dst, uint64_t n) {
  uint64_t cap = H(q)->capacity, first = n < cap - off ? n : cap - off;
  memcpy(dst, ring(q) + off, first);
  if (n > first) memcpy((unsigned char *)dst + first, ring(q), n - first);
}

// A one-piece copy; an 8-byte item (an Int, a Double) is one load and store, not a call.
static inline void copy_small(void *dst, const void *src, uint32_t len) {
  if (len == 8) memcpy(dst, src, 8);
  else if (len) memcpy(dst, src, len);
}

// The ring offset `n` bytes (a multiple of 8) after offset `off`.
static inline uint64_t advance(fl_queue_header *h, uint64_t off, uint64_t n) {
  off += n;
  return off >= h->capacity ? off - h->capacity : off;
}

static inline uint64_t *word_at(void *q, uint64_t off) { return (uint64_t *)(ring(q) + off); }

// MARK: - the sides' locks
//
// Not a robust pthread mutex: its lock and unlock cost ~110 and ~75 instructions (the robust
// list's bookkeeping, in the kernel's protocol), most of an untraced put or get. This lock is one
// compare-and-swap and one exchange. The kernel does not release it when its holder dies; a
// locker that finds it held past a spin and a sleep slice looks at the holder instead (a thread
// that is gone, a zombie, or a thread id reused by a thread that started later is dead) and
// takes the lock over, which fl_queue_lock then reports as the robust mutex's EOWNERDEAD was.

#define LOCK_TID 0x3fffffffu      // FUTEX_TID_MASK: thread ids fit below it
#define LOCK_WAITED 0x80000000u   // a locker may be asleep: the unlock wakes one

// This thread's lock word, made once per thread (and again in a fork child, whose thread id
// differs): glibc keeps the calling thread's id at the address it registered with
// set_tid_address (and sets it in a fork child), so one load tells whether the word is current.
static __thread int *self_tid_address;
static __thread int self_tid;
static __thread uint64_t self_word;
// Where PR_GET_TID_ADDRESS is unavailable: a copy of the id that a fork child clears.
static __thread int fallback_tid;
static pthread_once_t fallback_once = PTHREAD_ONCE_INIT;
static void fallback_forked(void) { fallback_tid = 0; }
static void fallback_register(void) { pthread_atfork(NULL, NULL, fallback_forked); }

// 1: thread `tid` is there (running, asleep or stopped), its start time (clock ticks since boot)
// in *start; 0: it is gone or a zombie; -1: /proc cannot tell.
static int thread_state(int tid, int self, uint64_t *start) {
  char path[48], buf[1024];
  if (self) snprintf(path, sizeof path, "/proc/thread-self/stat");
  else snprintf(path, sizeof path, "/proc/%d/stat", tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT || errno == ESRCH ? 0 : -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  int err = errno;
  close(fd);
  if (n <= 0) return n == 0 || err == ESRCH ? 0 : -1;
  buf[n] = 0;
  char *p = strrchr(buf, ')');  // the command name (in parentheses) may hold anything
  if (p == NULL || p[1] != ' ' || p[2] == 0) return -1;
  if (p[2] == 'Z' || p[2] == 'X' || p[2] == 'x') return 0;
  p += 3;
  // Fields 4 to 22 follow the state (field 3); the start time is field 22.
  for (int field = 4; field < 22; field++) {
    while (*p == ' ') p++;
    while (*p != 0 && *p != ' ') p++;
  }
  while (*p == ' ') p++;
  if (*p < '0' || *p > '9') return -1;
  *start = strtoull(p, NULL, 10);
  return 1;
}

static uint64_t self_word_slow(void) {
  int tid = (int)syscall(SYS_gettid);
  if (self_tid_address == NULL || self_tid_address == &fallback_tid) {
    int *a = NULL;
    if (prctl(PR_GET_TID_ADDRESS, &a, 0, 0, 0) == 0 && a != NULL && *a == tid) {
      self_tid_address = a;
    } else {
      pthread_once(&fallback_once, fallback_register);
      fallback_tid = tid;
      self_tid_address = &fallback_tid;
    }
  }
  uint64_t start = 0;
  if (thread_state(tid, 1, &start) != 1) start = 0;
  self_tid = tid;
  self_word = (uint64_t)((uint32_t)tid & LOCK_TID) | (uint64_t)(uint32_t)start << 32;
  return self_word;
}

static inline uint64_t self_lock_word(void) {
  int *a = self_tid_address;
  if (__builtin_expect(a != NULL && *a == self_tid, 1)) return self_word;
  return self_word_slow();
}

int fl_queue_lock_holder_alive(uint64_t word) {
  int tid = (int)(word & LOCK_TID);
  uint64_t start = 0;
  int state = thread_state(tid, 0, &start);
  if (state == 0) return 0;
  if (state < 0) return !(kill(tid, 0) != 0 && errno == ESRCH);
  uint32_t recorded = (uint32_t)(word >> 32);
  return recorded == 0 || recorded == (uint32_t)start;  // else the id was reused
}

uint64_t fl_queue_lock_word_of_caller(void) { return self_lock_word(); }

static const struct timespec lock_slice = {0, 5000000};  // a sleeper looks at the holder this often

static int owner_lock_slow(fl_owner_lock *l, uint64_t mine, int spins) {
  uint64_t o;
  // The holder's sections are short: watch the word (reading, not writing, its line) a little
  // before sleeping in the kernel, which costs far more than the wait.
  for (int i = 0; i < spins; i++) {
    fl_pause();
    o = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
    if (o == 0 && __atomic_compare_exchange_n(&l->owner, &o, mine, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return 0;
  }
  for (;;) {
    o = __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE);
    if (o == 0) {
      // Taken after a sleep (or with sleepers about): marked, so this unlock wakes the next.
      if (__atomic_compare_exchange_n(&l->owner, &o, mine | LOCK_WAITED, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return 0;
      continue;
    }
    if ((o & LOCK_WAITED) == 0) {
      uint64_t w = o | LOCK_WAITED;
      if (!__atomic_compare_exchange_n(&l->owner, &o, w, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) continue;
      o = w;
    }
    long r = fl_futex((uint32_t *)&l->owner, FUTEX_WAIT, (uint32_t)o, &lock_slice, 0);
    if (r == -ETIMEDOUT && __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) == o && !fl_queue_lock_holder_alive(o)) {
      // Its holder died holding it: the lock is ours, its side's state for fl_queue_lock to repair.
      if (__atomic_compare_exchange_n(&l->owner, &o, mine | LOCK_WAITED, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) return 1;
    }
  }
}

// 0: locked; 1: locked, taken over from a holder that died.
static inline int owner_lock(fl_owner_lock *l, int spins) {
  uint64_t mine = self_lock_word(), free_word = 0;
  if (__builtin_expect(__atomic_compare_exchange_n(&l->owner, &free_word, mine, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED), 1))
    return 0;
  return owner_lock_slow(l, mine, spins);
}

// An exchange (on x86 a full barrier: fence_after_unlock relies on it), and a wake-up only when
// a locker marked the word.
static inline void owner_unlock(fl_owner_lock *l) {
  uint64_t old = __atomic_exchange_n(&l->owner, 0, __ATOMIC_SEQ_CST);
  if (__builtin_expect((old & LOCK_WAITED) != 0, 0)) fl_futex((uint32_t *)&l->owner, FUTEX_WAKE, 1, NULL, 0);
}

static fl_owner_lock *side_lock(fl_queue_header *h, int side) { return side == FL_QUEUE_PUT ? &h->put_lock : &h->get_lock; }

static int recover_side(fl_queue_header *h, int side);
static inline int unlock_side(void *q, int side);

// 0: locked; 1: locked, its dead holder's operation finished or undone.
static inline __attribute__((always_inline)) int lock_side(void *q, int side) {
  fl_queue_header *h = H(q);
  if (__builtin_expect(owner_lock(side_lock(h, side), 200) == 0, 1)) return 0;
  return recover_side(h, side);
}

int fl_queue_lock(void *q, int side) { return lock_side(q, side); }

static __attribute__((noinline)) int recover_side(fl_queue_header *h, int side) {
  // The holder died. Its side's last published store (the tail of a put, the head of a take) is
  // the state: finish or undo the operation it was in.
  if (side == FL_QUEUE_PUT) {
    if (h->put_op == OP_PUT) {
      // Published: the item is there (and counts as unfinished). Not: it was never put.
      int published = h->tail != h->put_op_pos;
      h->puts = h->put_op_puts + (uint64_t)published;
      h->jputs = h->put_op_jputs + (published && h->put_op_joinable ? 1 : 0);
    }
    __atomic_store_n(&h->put_op, OP_NONE, __ATOMIC_RELEASE);
  } else {
    if (h->get_op == OP_TAKE) {
      int taken = h->head != h->get_op_pos;
      h->gets = h->get_op_gets + (uint64_t)taken;
      if (taken) {
        // Taken out, but its getter died before it returned it: nobody has it and nobody will
        // mark it done. It is counted lost (a join reports it) instead of unfinished forever.
        h->lost++;
        h->lost_puid = h->get_op_puid;
        h->lost_seq = h->get_op_seq;
        if (h->get_op_joinable) h->lost_joinable++;
      }
    } else if (h->get_op == OP_DONE) {
      // The consumer had called task_done: finish it (it was a single store, made or not).
      h->dones = h->get_op_dones + 1;
    }
    __atomic_store_n(&h->get_op, OP_NONE, __ATOMIC_RELEASE);
  }
  __atomic_add_fetch(&h->done_seq, 1, __ATOMIC_SEQ_CST);  // a joiner that sleeps looks again
  __atomic_add_fetch(&h->recoveries, 1, __ATOMIC_SEQ_CST);
  return 1;
}

// A full fence after a side's unlock, between the side's published store (the tail or head,
// a release store) and its read of the other side's waiter count: the Dekker pairing with
// fl_queue_wait (count, then read the word). On x86 the unlock is an atomic exchange
// (owner_unlock), a full barrier already, so only the compiler is held back; that saved one
// locked instruction per put and per get (the publish used to be a sequentially consistent
// store: an xchg of its own).
static inline void fence_after_unlock(void) {
#if defined(__x86_64__) || defined(__i386__)
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
#else
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

int fl_queue_unlock(void *q, int side) { return unlock_side(q, side); }

static inline __attribute__((always_inline)) int unlock_side(void *q, int side) {
  // The operation is complete: the caller has it (a get returns it, a put returns).
  fl_queue_header *h = H(q);
  uint32_t *op = side == FL_QUEUE_PUT ? &h->put_op : &h->get_op;
  if (*op != OP_NONE) __atomic_store_n(op, OP_NONE, __ATOMIC_RELEASE);
  owner_unlock(side_lock(h, side));
  fence_after_unlock();
  return __atomic_load_n(&h->waiters[side == FL_QUEUE_PUT ? 0 : 1], __ATOMIC_SEQ_CST) != 0;
}

uint64_t fl_queue_record_size(uint32_t len) { return padded(RECORD_HEAD + (uint64_t)len); }

static inline int has_room_for(void *q, uint64_t need);

int fl_queue_has_room(void *q, uint32_t len) { return has_room_for(q, padded(RECORD_HEAD + (uint64_t)len)); }

static inline __attribute__((always_inline)) int has_room_for(void *q, uint64_t need) {
  fl_queue_header *h = H(q);
  if (h->max_items != 0 && h->puts - h->seen_gets >= h->max_items) {
    // The head first, then gets (a take stores gets before the head): a wait on that head
    // value is woken by any later take.
    h->seen_head = load(&h->head);
    h->seen_gets = load(&h->gets);
    if (h->puts - h->seen_gets >= h->max_items) {
      h->full_seen = (uint32_t)h->seen_head;
      return 0;
    }
  }
  if (h->capacity - (h->tail - h->seen_head) < need) {
    h->seen_head = load(&h->head);
    if (h->capacity - (h->tail - h->seen_head) < need) {
      h->full_seen = (uint32_t)h->seen_head;
      return 0;
    }
  }
  return 1;
}

static inline __attribute__((always_inline)) void write_record(void *q, const void *payload, uint32_t len, uint32_t type,
                                                               uint64_t puid, uint64_t seq, int joinable, void *pending_record) {
  fl_queue_header *h = H(q);
  uint64_t tail = h->tail;
  h->put_op_pos = tail;
  h->put_op_puts = h->puts;
  h->put_op_jputs = h->jputs;
  h->put_op_joinable = (uint32_t)(joinable != 0);
  __atomic_store_n(&h->put_op, OP_PUT, __ATOMIC_RELEASE);
  uint64_t off = offset(h, tail);
  // A sender only for a traced put (its recv names it); fl_queue_has_room counted a full header.
  int sender = pending_record != NULL || puid != 0;
  uint64_t head_size = sender ? RECORD_HEAD : RECORD_SHORT;
  uint64_t first = (uint64_t)len | (uint64_t)(type | (sender ? RECORD_SENDER : 0)) << 32;
  if (__builtin_expect(off + head_size + len <= h->capacity, 1)) {
    // The usual record: in one piece, no wrap to test word by word.
    uint64_t *w = word_at(q, off);
    w[0] = first;
    if (sender) {
      w[1] = puid;
      w[2] = seq;
    }
    copy_small(w + head_size / 8, payload, len);
  } else {
    *word_at(q, off) = first;
    off = advance(h, off, 8);
    if (sender) {
      *word_at(q, off) = puid;
      off = advance(h, off, 8);
      *word_at(q, off) = seq;
      off = advance(h, off, 8);
    }
    if (len) copy_in(q, off, payload, len);
  }
  h->puts++;
  if (joinable) h->jputs++;
  fl_queue_fault(1);
  // The send event is committed before the item can be taken: a recv never names a record
  // still being written.
  if (pending_record) fl_trace_commit(pending_record);
  // A release store: the unlock that follows is the fence before the waiter count is read.
  __atomic_store_n(&h->tail, tail + padded(head_size + len), __ATOMIC_RELEASE);
}

void fl_queue_write(void *q, const void *payload, uint32_t len, uint32_t type, uint64_t puid, uint64_t seq,
                    int joinable, void *pending_record) {
  write_record(q, payload, len, type, puid, seq, joinable, pending_record);
}

static inline __attribute__((always_inline)) int peek_record(void *q, uint32_t *len, uint32_t *type, uint64_t *puid, uint64_t *seq) {
  fl_queue_header *h = H(q);
  uint64_t head = h->head;
  if (head == h->seen_tail) {
    uint64_t tail = load(&h->tail);
    h->seen_tail = tail;
    if (tail == head) {
      h->empty_seen = (uint32_t)tail;
      return 0;
    }
  }
  uint64_t off = offset(h, head);
  uint64_t w = *word_at(q, off);
  *len = (uint32_t)w;
  *type = (uint32_t)(w >> 32) & ~RECORD_SENDER;
  if (((w >> 32) & RECORD_SENDER) == 0) {
    *puid = 0;  // an untraced put's record
    *seq = 0;
    return 1;
  }
  if (__builtin_expect(off + RECORD_HEAD <= h->capacity, 1)) {
    *puid = word_at(q, off)[1];
    *seq = word_at(q, off)[2];
    return 1;
  }
  off = advance(h, off, 8);
  *puid = *word_at(q, off);
  off = advance(h, off, 8);
  *seq = *word_at(q, off);
  return 1;
}

int fl_queue_peek(void *q, uint32_t *len, uint32_t *type, uint64_t *puid, uint64_t *seq) {
  return peek_record(q, len, type, puid, seq);
}

static inline __attribute__((always_inline)) void take_record(void *q, void *dst, uint32_t len, int joinable) {
  fl_queue_header *h = H(q);
  uint64_t head = h->head;
  h->get_op_pos = head;
  h->get_op_gets = h->gets;
  h->get_op_joinable = (uint32_t)(joinable != 0);
  uint64_t off = offset(h, head);
  uint64_t *w = word_at(q, off);
  int sender = ((*w >> 32) & RECORD_SENDER) != 0;
  uint64_t head_size = sender ? RECORD_HEAD : RECORD_SHORT;
  if (__builtin_expect(off + head_size + len <= h->capacity, 1)) {
    // The usual record: in one piece.
    h->get_op_puid = sender ? w[1] : 0;  // the record's sender, for a lost-item report
    h->get_op_seq = sender ? w[2] : 0;
    __atomic_store_n(&h->get_op, OP_TAKE, __ATOMIC_RELEASE);
    copy_small(dst, w + head_size / 8, len);
  } else {
    off = advance(h, off, 8);
    h->get_op_puid = 0;
    h->get_op_seq = 0;
    if (sender) {
      h->get_op_puid = *word_at(q, off);
      off = advance(h, off, 8);
      h->get_op_seq = *word_at(q, off);
      off = advance(h, off, 8);
    }
    __atomic_store_n(&h->get_op, OP_TAKE, __ATOMIC_RELEASE);
    if (len) copy_out(q, off, dst, len);
  }
  h->gets++;
  __atomic_store_n(&h->head, head + padded(head_size + len), __ATOMIC_RELEASE);
}


void fl_queue_take(void *q, void *dst, uint32_t len, int joinable) { take_record(q, dst, len, joinable); }

uint64_t fl_queue_count(void *q) {
  fl_queue_header *h = H(q);
  uint64_t gets = load(&h->gets);
  return load(&h->puts) - gets;
}
uint64_t fl_queue_capacity(void *q) { return H(q)->capacity; }
uint64_t fl_queue_max_items(void *q) { return H(q)->max_items; }
uint64_t fl_queue_recoveries(void *q) { return __atomic_load_n(&H(q)->recoveries, __ATOMIC_ACQUIRE); }

int64_t fl_queue_unfinished(void *q) {
  // The get side first (it holds the task_dones), then the joinable puts: a put made after the
  // first read is counted, so 0 means every item put by the first read was done.
  fl_queue_header *h = H(q);
  int64_t done = __atomic_load_n(&h->dones, __ATOMIC_ACQUIRE) + __atomic_load_n(&h->lost_joinable, __ATOMIC_ACQUIRE);
  return max0(__atomic_load_n(&h->jputs, __ATOMIC_ACQUIRE) - done);
}

uint64_t fl_queue_lost(void *q, uint64_t *puid, uint64_t *seq) {
  fl_queue_header *h = H(q);
  *puid = h->lost_puid;
  *seq = h->lost_seq;
  return h->lost;
}

int fl_queue_task_done(void *q) {
  fl_queue_header *h = H(q);
  if (fl_queue_unfinished(q) <= 0) return -1;
  h->get_op_dones = h->dones;
  __atomic_store_n(&h->get_op, OP_DONE, __ATOMIC_RELEASE);
  fl_queue_fault(4);
  __atomic_store_n(&h->dones, h->dones + 1, __ATOMIC_SEQ_CST);
  if (fl_queue_unfinished(q) == 0) {
    __atomic_add_fetch(&h->done_seq, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&h->waiters[2], __ATOMIC_SEQ_CST) != 0;
  }
  return 0;
}

// A put and a get in one call each (lock, check, copy, publish, unlock, wake), traced when
// `ev` is given: the send is reserved under the put lock and committed by the write just before
// the item is published; the recv is recorded under the get lock.
int fl_queue_put_now(void *q, const void *payload, uint32_t len, uint32_t type, int joinable, uint32_t *seen,
                     const fl_queue_events *ev) {
  int rc = lock_side(q, FL_QUEUE_PUT);
  if (rc < 0) return rc;
  int result = rc == 1 ? FL_QUEUE_RECOVERED : 0;
  // A traced put's record carries its sender (RECORD_HEAD), an untraced one's not.
  if (!has_room_for(q, padded((ev ? RECORD_HEAD : RECORD_SHORT) + (uint64_t)len))) {
    *seen = H(q)->full_seen;
    unlock_side(q, FL_QUEUE_PUT);
    return result;
  }
  uint64_t seq = 0;
  void *pending = ev ? fl_trace_reserve_words(ev->send_kind, ev->send_layout, ev->id, len, 0, 0, &seq) : NULL;
  if (ev && !pending && fl_trace_failure() != 0) result |= FL_QUEUE_TRACE_CUT;
  write_record(q, payload, len, type, pending ? fl_trace_puid() : 0, pending ? seq : 0, joinable, pending);
  fl_queue_fault(2);
  if (unlock_side(q, FL_QUEUE_PUT)) fl_queue_wake(q, 0, 0);
  return result | FL_QUEUE_DONE;
}

int fl_queue_get_now(void *q, void *dst, uint32_t room, int joinable, fl_queue_item *item, const fl_queue_events *ev) {
  int rc = lock_side(q, FL_QUEUE_GET);
  if (rc < 0) return rc;
  int result = rc == 1 ? FL_QUEUE_RECOVERED : 0;
  if (!peek_record(q, &item->len, &item->type, &item->puid, &item->seq)) {
    item->seen = H(q)->empty_seen;
    unlock_side(q, FL_QUEUE_GET);
    return result;
  }
  if (item->len > room) return result | FL_QUEUE_LOCKED;  // the caller takes it and unlocks
  take_record(q, dst, item->len, joinable);
  if (ev && fl_trace_record_words(ev->recv_kind, ev->recv_layout, ev->id, item->puid, item->seq, item->len) < 0)
    result |= FL_QUEUE_TRACE_CUT;
  fl_queue_fault(3);
  if (unlock_side(q, FL_QUEUE_GET)) fl_queue_wake(q, 1, 0);
  return result | FL_QUEUE_DONE;
}

static uint32_t *futex_word(fl_queue_header *h, int which) {
  // The low 32 bits of the tail (data) and of the head (space), little-endian.
  return which == 0 ? (uint32_t *)&h->tail : which == 1 ? (uint32_t *)&h->head : &h->done_seq;
}

uint32_t fl_queue_seq(void *q, int which) { return __atomic_load_n(futex_word(H(q), which), __ATOMIC_SEQ_CST); }

uint32_t fl_queue_seen(void *q, int which) { return which == 0 ? H(q)->empty_seen : H(q)->full_seen; }

// A sleeper SIGKILLed in the kernel never takes its count back, and every later put (get) would
// then make a FUTEX_WAKE for nobody. A wake-up that woke nobody is also normal (a sleeper woken
// before and not yet running, on a loaded machine for milliseconds of puts; or one between its
// count and its sleep), so the sleepers' slots are looked at (a /proc read each) at most every
// 100 ms per queue, by the first such wake-up after that: a slot whose thread is dead is freed
// and its count taken back (exactly once: the slot is cleared by compare-and-swap).
enum { HEAL_INTERVAL_NS = 100000000 };
static void heal_waiters(fl_queue_header *h, int which) {
  for (int i = 0; i < WAITER_SLOTS; i++) {
    uint64_t w = __atomic_load_n(&h->sleepers[which][i], __ATOMIC_ACQUIRE);
    if (w == 0 || fl_queue_lock_holder_alive(w)) continue;
    if (__atomic_compare_exchange_n(&h->sleepers[which][i], &w, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
      uint32_t n = __atomic_load_n(&h->waiters[which], __ATOMIC_RELAXED);
      while (n > 0 && !__atomic_compare_exchange_n(&h->waiters[which], &n, n - 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {}
    }
  }
}

void fl_queue_wake(void *q, int which, int all) {
  fl_queue_header *h = H(q);
  if (fl_futex(futex_word(h, which), FUTEX_WAKE, all ? INT32_MAX : 1, NULL, 0) != 0) return;
  uint64_t now = fl_monotonic_ns();
  uint64_t last = __atomic_load_n(&h->healed_ns, __ATOMIC_RELAXED);
  if ((last == 0 || now - last >= HEAL_INTERVAL_NS) &&
      __atomic_compare_exchange_n(&h->healed_ns, &last, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    heal_waiters(h, which);
}

uint32_t fl_queue_waiters(void *q, int which) { return __atomic_load_n(&H(q)->waiters[which], __ATOMIC_SEQ_CST); }

// A getter (putter) that caught up with the other side and saw the position it waits on move
// goes on watching it while it keeps moving, until a batch has come (up to SETTLE_BYTES, a
// quarter of a small ring), looking less often the longer it moves (1 pause between looks, then
// 2, 4, up to 16: ~25 ns each here): the records it then takes are on lines the putter has
// finished writing, and it reads the tail (head) a few times a batch instead of once an item or
// more. Read item by item, each read pulls the line the other side writes next away from it, and
// that side's next locked instruction waits for the line to come back: perf of the 1x1 bench saw
// the put's lock compare-and-swap and unlock exchange take 42% of its samples and the get's reads
// of the tail and the record 32-45%, the getter spinning on the tail a pause apart. Once the
// position stays put for SETTLE_STILL looks in a row it returns. Only a waiter whose word moved
// within its first SETTLE_SOON looks settles (the other side is streaming: its next item came
// a pause or two after this side caught up); one that waited longer (a ping-pong, a put now and
// then) takes its item at once, so a round trip costs what it did (0.94-1.00 us against
// 0.82-1.15 before, alternated; 1.14-1.36 when every waiter settled).
// At most SETTLE_PAUSES pauses in all (~25 us here, ~60 us where a pause is ~140 cycles): a
// putter that trickles items just fast enough to keep the word moving would otherwise hold the
// waiter ~8k pauses (a bound of 512 looks 16 apart) from an item that was there all along, past a
// short get(timeout:)'s deadline too (review). A 4 KiB batch of Int records comes in ~5 us at
// 50 M/s.
enum { SETTLE_BYTES = 4096, SETTLE_STILL = 3, SETTLE_GAP = 16, SETTLE_SOON = 4, SETTLE_PAUSES = 1024 };
static inline void settle(fl_queue_header *h, uint32_t *word, uint32_t seen) {
  uint32_t batch = h->capacity / 4 < SETTLE_BYTES ? (uint32_t)(h->capacity / 4) : SETTLE_BYTES;
  uint32_t last = __atomic_load_n(word, __ATOMIC_ACQUIRE);
  for (int still = 0, gap = 1, paused = 0; paused < SETTLE_PAUSES && last - seen < batch && still < SETTLE_STILL;) {
    for (int k = 0; k < gap; k++) fl_pause();
    paused += gap;
    uint32_t now = __atomic_load_n(word, __ATOMIC_ACQUIRE);
    if (now == last) {
      still++;
    } else {
      still = 0;
      if (gap < SETTLE_GAP) gap *= 2;
    }
    last = now;
  }
}

int fl_queue_wait(void *q, int which, uint32_t seen, int64_t timeout_ns, int spins) {
  fl_queue_header *h = H(q);
  uint32_t *word = futex_word(h, which);
  for (int i = 0; i < spins; i++) {
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != seen) {
      if (which < 2 && i < SETTLE_SOON) settle(h, word, seen);
      return 0;
    }
    fl_pause();
  }
  if (timeout_ns == 0) return __atomic_load_n(word, __ATOMIC_ACQUIRE) != seen ? 0 : ETIMEDOUT;
  // Counted first, then the word read again (both sequentially consistent; the waker stores the
  // word, passes a full barrier (its unlock, fence_after_unlock) and reads the count): either the
  // waker sees the count and wakes, or this sees the move.
  // A slot names this sleeper (if one is free; one without a slot is only counted).
  uint64_t me = self_lock_word();
  int slot = -1;
  for (int i = 0; i < WAITER_SLOTS && slot < 0; i++) {
    uint64_t free_slot = 0;
    if (__atomic_load_n(&h->sleepers[which][i], __ATOMIC_RELAXED) == 0 &&
        __atomic_compare_exchange_n(&h->sleepers[which][i], &free_slot, me, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
      slot = i;
  }
  __atomic_add_fetch(&h->waiters[which], 1, __ATOMIC_SEQ_CST);
  int result = 0;
  if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == seen) {
    struct timespec ts, *tsp = NULL;
    if (timeout_ns > 0) {
      ts.tv_sec = timeout_ns / 1000000000;
      ts.tv_nsec = timeout_ns % 1000000000;
      tsp = &ts;
    }
    if (fl_futex(word, FUTEX_WAIT, seen, tsp, 0) == -ETIMEDOUT) result = ETIMEDOUT;
  }
  if (slot >= 0) {
    // Its own slot still: the count goes back with it. Freed by a healer that judged this
    // thread dead (it cannot be, but /proc may have failed to tell): the healer took it back.
    uint64_t mine = me;
    if (!__atomic_compare_exchange_n(&h->sleepers[which][slot], &mine, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) return result;
  }
  __atomic_sub_fetch(&h->waiters[which], 1, __ATOMIC_SEQ_CST);
  return result;
}
