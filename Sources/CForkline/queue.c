// The shared-memory ring under Forkline's Queue family (docs/channels.md, "Queues").
//
// One memfd segment holds a header (a robust process-shared mutex, positions, counters, futex
// words) and a byte ring of records: u32 length, u32 type, u64 sender puid, u64 send sequence,
// then the payload, padded to 8 bytes; a record may wrap around the ring's end. Positions only
// grow (offset = position % capacity). Every change to the ring happens under the mutex and is
// published by its last store (the tail for a put, the head for a get), so a process killed
// while holding the mutex leaves the previous consistent state: the next locker is told
// (EOWNERDEAD), makes the mutex consistent and recounts the messages from head to tail.
//
// Waiting is outside the mutex: a waiter notes a futex word (data, space, done), spins briefly
// watching it, then counts itself a waiter and sleeps on the word; a put, get or last task_done
// bumps the word under the mutex and wakes only when someone waits.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"
#include "fl_internal.h"

#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

typedef struct fl_queue_header {
  pthread_mutex_t mutex;
  char pad0[64 - sizeof(pthread_mutex_t)];
  uint64_t head, tail;      // byte positions
  uint64_t count;           // messages in the ring
  uint64_t capacity;        // ring bytes (a multiple of 8)
  uint64_t max_items;       // 0: no count limit
  int64_t unfinished;       // puts not yet matched by task_done
  uint64_t recoveries;      // times a dead holder's mutex was recovered
  char pad1[8];
  uint32_t seq[3];          // futex words: data, space, done
  uint32_t waiters[3];
  char pad2[192 - 128 - 24];  // the undo record below on a line of its own: waiters spin on seq
  // The operation in progress under the mutex (its undo record), cleared at the unlock: a
  // holder that dies leaves it for the next locker, which finishes or undoes it.
  uint32_t op;              // OP_NONE, OP_PUT, OP_TAKE, OP_DONE
  uint32_t op_joinable;     // the operation counts in `unfinished`
  uint64_t op_pos;          // the tail (put) or head (take) before it
  int64_t op_unfinished;    // `unfinished` before it
  uint64_t op_puid, op_seq; // the taken record's sender and send sequence
  uint64_t lost;            // items taken by a process that died before it returned them
  uint64_t lost_puid, lost_seq;  // the last of them
} fl_queue_header;

enum { OP_NONE = 0, OP_PUT = 1, OP_TAKE = 2, OP_DONE = 3 };

_Static_assert(sizeof(pthread_mutex_t) <= 64, "mutex fits its line");
_Static_assert(sizeof(fl_queue_header) <= FL_QUEUE_HEADER_SIZE, "header fits");
_Static_assert(offsetof(fl_queue_header, seq) == 128 && offsetof(fl_queue_header, op) == 192, "cache lines");

#define RECORD_HEAD 24u

int fl_queue_fault_point_ = 0;

void fl_queue_set_fault_point(int point) { fl_queue_fault_point_ = point; }

void fl_queue_die(void) { kill(getpid(), SIGKILL); }

static inline fl_queue_header *H(void *q) { return (fl_queue_header *)q; }
static inline unsigned char *ring(void *q) { return (unsigned char *)q + FL_QUEUE_HEADER_SIZE; }
static inline uint64_t padded(uint64_t n) { return (n + 7u) & ~(uint64_t)7u; }

int fl_queue_init(void *q, uint64_t capacity, uint64_t max_items) {
  fl_queue_header *h = H(q);
  memset(h, 0, sizeof *h);
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int rc = pthread_mutex_init(&h->mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  h->capacity = capacity;
  h->max_items = max_items;
  return rc;
}

static void copy_in(void *q, uint64_t pos, const void *src, uint64_t n) {
  uint64_t cap = H(q)->capacity, off = pos % cap, first = n < cap - off ? n : cap - off;
  memcpy(ring(q) + off, src, first);
  if (n > first) memcpy(ring(q), (const unsigned char *)src + first, n - first);
}

static void copy_out(void *q, uint64_t pos, void *dst, uint64_t n) {
  uint64_t cap = H(q)->capacity, off = pos % cap, first = n < cap - off ? n : cap - off;
  memcpy(dst, ring(q) + off, first);
  if (n > first) memcpy((unsigned char *)dst + first, ring(q), n - first);
}

static inline void bump(fl_queue_header *h, int which) {
  __atomic_add_fetch(&h->seq[which], 1, __ATOMIC_SEQ_CST);
}

int fl_queue_lock(void *q) {
  fl_queue_header *h = H(q);
  int rc = pthread_mutex_lock(&h->mutex);
  if (rc == 0) return 0;
  if (rc != EOWNERDEAD) return -rc;
  // The holder died. Its last published store (the tail of a put, the head of a take) is the
  // state: finish or undo the operation it was in, then recount from head to tail.
  pthread_mutex_consistent(&h->mutex);
  uint32_t op = __atomic_load_n(&h->op, __ATOMIC_ACQUIRE);
  if (op == OP_PUT) {
    // Published: the item is there and counts as unfinished. Not: it was never put.
    int published = h->tail != h->op_pos;
    h->unfinished = h->op_unfinished + (published && h->op_joinable ? 1 : 0);
  } else if (op == OP_DONE) {
    // The consumer had called task_done: finish it (it was a single store, made or not).
    h->unfinished = h->op_unfinished > 0 ? h->op_unfinished - 1 : 0;
  } else if (op == OP_TAKE && h->head != h->op_pos) {
    // Taken out, but its getter died before it returned it: nobody has it and nobody will
    // mark it done. It is counted lost (a join reports it) instead of unfinished forever.
    h->lost++;
    h->lost_puid = h->op_puid;
    h->lost_seq = h->op_seq;
    if (h->op_joinable && h->unfinished > 0) h->unfinished--;
  }
  __atomic_store_n(&h->op, OP_NONE, __ATOMIC_RELEASE);
  if (h->unfinished <= 0) bump(h, 2);  // a joiner that sleeps sees the end
  uint64_t n = 0;
  for (uint64_t p = h->head; p < h->tail;) {
    uint32_t len;
    copy_out(q, p, &len, 4);
    p += padded(RECORD_HEAD + len);
    n++;
  }
  h->count = n;
  h->recoveries++;
  return 1;
}

void fl_queue_unlock(void *q) {
  // The operation is complete: the caller has it (a get returns it, a put returns).
  if (H(q)->op != OP_NONE) __atomic_store_n(&H(q)->op, OP_NONE, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&H(q)->mutex);
}

uint64_t fl_queue_record_size(uint32_t len) { return padded(RECORD_HEAD + (uint64_t)len); }

int fl_queue_has_room(void *q, uint32_t len) {
  fl_queue_header *h = H(q);
  if (h->max_items != 0 && h->count >= h->max_items) return 0;
  return h->capacity - (h->tail - h->head) >= padded(RECORD_HEAD + (uint64_t)len);
}


int fl_queue_write(void *q, const void *payload, uint32_t len, uint32_t type, uint64_t puid, uint64_t seq,
                   int joinable) {
  fl_queue_header *h = H(q);
  h->op_pos = h->tail;
  h->op_unfinished = h->unfinished;
  h->op_joinable = (uint32_t)(joinable != 0);
  __atomic_store_n(&h->op, OP_PUT, __ATOMIC_RELEASE);
  unsigned char head[RECORD_HEAD];
  memcpy(head, &len, 4);
  memcpy(head + 4, &type, 4);
  memcpy(head + 8, &puid, 8);
  memcpy(head + 16, &seq, 8);
  copy_in(q, h->tail, head, RECORD_HEAD);
  if (len) copy_in(q, h->tail + RECORD_HEAD, payload, len);
  if (joinable) h->unfinished++;
  h->count++;
  fl_queue_fault(1);
  __atomic_store_n(&h->tail, h->tail + padded(RECORD_HEAD + (uint64_t)len), __ATOMIC_RELEASE);
  bump(h, 0);
  return __atomic_load_n(&h->waiters[0], __ATOMIC_SEQ_CST) != 0;
}

int fl_queue_peek(void *q, uint32_t *len, uint32_t *type, uint64_t *puid, uint64_t *seq) {
  fl_queue_header *h = H(q);
  if (h->head == h->tail) return 0;
  unsigned char head[RECORD_HEAD];
  copy_out(q, h->head, head, RECORD_HEAD);
  memcpy(len, head, 4);
  memcpy(type, head + 4, 4);
  memcpy(puid, head + 8, 8);
  memcpy(seq, head + 16, 8);
  return 1;
}

int fl_queue_take(void *q, void *dst, uint32_t len, int joinable) {
  fl_queue_header *h = H(q);
  h->op_pos = h->head;
  h->op_joinable = (uint32_t)(joinable != 0);
  uint64_t sender[2];  // the record's puid and seq, for a lost-item report
  copy_out(q, h->head + 8, sender, 16);
  h->op_puid = sender[0];
  h->op_seq = sender[1];
  __atomic_store_n(&h->op, OP_TAKE, __ATOMIC_RELEASE);
  if (len) copy_out(q, h->head + RECORD_HEAD, dst, len);
  h->count--;
  __atomic_store_n(&h->head, h->head + padded(RECORD_HEAD + (uint64_t)len), __ATOMIC_RELEASE);
  bump(h, 1);
  return __atomic_load_n(&h->waiters[1], __ATOMIC_SEQ_CST) != 0;
}

uint64_t fl_queue_count(void *q) { return H(q)->count; }
uint64_t fl_queue_capacity(void *q) { return H(q)->capacity; }
uint64_t fl_queue_max_items(void *q) { return H(q)->max_items; }
uint64_t fl_queue_recoveries(void *q) { return H(q)->recoveries; }
int64_t fl_queue_unfinished(void *q) { return H(q)->unfinished; }

uint64_t fl_queue_lost(void *q, uint64_t *puid, uint64_t *seq) {
  fl_queue_header *h = H(q);
  *puid = h->lost_puid;
  *seq = h->lost_seq;
  return h->lost;
}

int fl_queue_task_done(void *q) {
  fl_queue_header *h = H(q);
  if (h->unfinished <= 0) return -1;
  h->op_unfinished = h->unfinished;
  __atomic_store_n(&h->op, OP_DONE, __ATOMIC_RELEASE);
  fl_queue_fault(4);
  if (--h->unfinished == 0) {
    bump(h, 2);
    return __atomic_load_n(&h->waiters[2], __ATOMIC_SEQ_CST) != 0;
  }
  return 0;
}

uint32_t fl_queue_seq(void *q, int which) { return __atomic_load_n(&H(q)->seq[which], __ATOMIC_SEQ_CST); }

void fl_queue_wake(void *q, int which, int all) {
  fl_futex(&H(q)->seq[which], FUTEX_WAKE, all ? INT32_MAX : 1, NULL, 0);
}

int fl_queue_wait(void *q, int which, uint32_t seen, int64_t timeout_ns, int spins) {
  fl_queue_header *h = H(q);
  uint32_t *word = &h->seq[which];
  for (int i = 0; i < spins; i++) {
    if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != seen) return 0;
    fl_pause();
  }
  if (timeout_ns == 0) return __atomic_load_n(word, __ATOMIC_ACQUIRE) != seen ? 0 : ETIMEDOUT;
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
  __atomic_sub_fetch(&h->waiters[which], 1, __ATOMIC_SEQ_CST);
  return result;
}
