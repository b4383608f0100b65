// The pool's reply rings: one single-producer single-consumer byte ring per worker, in shared
// memory, that the worker appends its replies to and the pool's driver drains. A record is a
// 4-byte length and that many bytes; positions only grow (the byte at position p lives at
// p % capacity). The header holds the written and consumed positions, the driver's "asleep"
// flag and the announced position (what the worker had written when it last offered to wake
// the driver), each on its own cache line. Worker: store announced, then read the flag; driver:
// raise the flag, then read announced (both sequentially consistent): either the driver sees
// the announcement and does not sleep, or the worker sees the flag and wakes it.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <stdatomic.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

typedef struct {
  _Atomic uint64_t written;
  char pad0[56];
  _Atomic uint64_t consumed;
  char pad1[56];
  _Atomic uint32_t sleeping;
  char pad2[60];
  _Atomic uint64_t announced;
} fl_ring_header;

_Static_assert(sizeof(fl_ring_header) <= FL_RING_HEADER, "ring header too large");

static inline fl_ring_header *hdr(void *base) { return (fl_ring_header *)base; }
static inline uint8_t *data(void *base) { return (uint8_t *)base + FL_RING_HEADER; }

static void copy_in(void *base, uint64_t cap, uint64_t at, const void *src, uint64_t len) {
  uint64_t off = at % cap, first = cap - off < len ? cap - off : len;
  memcpy(data(base) + off, src, first);
  if (first < len) memcpy(data(base), (const uint8_t *)src + first, len - first);
}

int fl_ring_put(void *base, uint64_t cap, const void *bytes, uint32_t len) {
  fl_ring_header *h = hdr(base);
  uint64_t w = atomic_load_explicit(&h->written, memory_order_relaxed);
  uint64_t c = atomic_load_explicit(&h->consumed, memory_order_acquire);
  if (cap - (w - c) < (uint64_t)len + 4) return 0;
  copy_in(base, cap, w, &len, 4);
  copy_in(base, cap, w + 4, bytes, len);
  atomic_store_explicit(&h->written, w + 4 + len, memory_order_seq_cst);
  return 1;
}

// A record written in pieces (the pool's driver puts a task's bytes straight from the caller's
// array): reserve, copy each piece in, publish. Single producer, so nothing moves between.
uint64_t fl_ring_reserve(void *base, uint64_t cap, uint32_t len) {
  fl_ring_header *h = hdr(base);
  uint64_t w = atomic_load_explicit(&h->written, memory_order_relaxed);
  uint64_t c = atomic_load_explicit(&h->consumed, memory_order_acquire);
  if (cap - (w - c) < (uint64_t)len + 4) return UINT64_MAX;
  copy_in(base, cap, w, &len, 4);
  return w + 4;
}

void fl_ring_copy_in(void *base, uint64_t cap, uint64_t at, const void *bytes, uint64_t len) {
  if (len > 0) copy_in(base, cap, at, bytes, len);
}

void fl_ring_publish(void *base, uint64_t to) {
  atomic_store_explicit(&hdr(base)->written, to, memory_order_seq_cst);
}

uint64_t fl_ring_written(void *base) { return atomic_load_explicit(&hdr(base)->written, memory_order_seq_cst); }

uint64_t fl_ring_consumed(void *base) { return atomic_load_explicit(&hdr(base)->consumed, memory_order_acquire); }

void fl_ring_copy_out(void *base, uint64_t cap, uint64_t at, void *out, uint64_t len) {
  uint64_t off = at % cap, first = cap - off < len ? cap - off : len;
  memcpy(out, data(base) + off, first);
  if (first < len) memcpy((uint8_t *)out + first, data(base), len - first);
}

void fl_ring_copy_out_fresh(void *base, uint64_t cap, uint64_t at, void *out, uint64_t len) {
  // Fresh memory faults a page at a time as memcpy first touches it: on this project's VMs
  // each fault costs more than copying the page. One madvise faults the whole range in (a
  // kernel without MADV_POPULATE_WRITE, before 5.14, says EINVAL: the copy faults as before).
  if (len >= (64u << 10)) {
    uintptr_t page = 4096, from = ((uintptr_t)out + page - 1) & ~(page - 1);
    uintptr_t to = ((uintptr_t)out + len) & ~(page - 1);
    int saved = errno;
    if (to > from) (void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
    errno = saved;
  }
  fl_ring_copy_out(base, cap, at, out, len);
}

void fl_ring_consume(void *base, uint64_t to) { atomic_store_explicit(&hdr(base)->consumed, to, memory_order_release); }

void fl_ring_set_sleeping(void *base, uint32_t value) {
  atomic_store_explicit(&hdr(base)->sleeping, value, memory_order_seq_cst);
}

uint64_t fl_ring_announced(void *base) { return atomic_load_explicit(&hdr(base)->announced, memory_order_seq_cst); }

int fl_ring_announce(void *base) {
  fl_ring_header *h = hdr(base);
  atomic_store_explicit(&h->announced, atomic_load_explicit(&h->written, memory_order_relaxed), memory_order_seq_cst);
  if (atomic_load_explicit(&h->sleeping, memory_order_seq_cst) == 0) return 0;
  return atomic_exchange_explicit(&h->sleeping, 0, memory_order_seq_cst) != 0;
}

// Task rings (driver -> worker): the same header with the roles swapped. The `sleeping` flag is
// the worker's and is also the futex word it sleeps on: the driver's announce clears it and wakes
// the word only when it was raised, so a worker that is awake costs the driver no system call.

int fl_ring_sleep(void *base, uint64_t read_at, uint64_t timeout_ns) {
  fl_ring_header *h = hdr(base);
  atomic_store_explicit(&h->sleeping, 1, memory_order_seq_cst);
  if (atomic_load_explicit(&h->announced, memory_order_seq_cst) > read_at) {
    atomic_store_explicit(&h->sleeping, 0, memory_order_seq_cst);
    return 1;
  }
  // Returns at once (EAGAIN) when the driver cleared the flag between the store and the wait.
  int r = fl_futex_wait((uint32_t *)&h->sleeping, 1, fl_monotonic_ns() + timeout_ns);
  atomic_store_explicit(&h->sleeping, 0, memory_order_seq_cst);
  return r == -ETIMEDOUT ? 0 : 1;
}

int fl_ring_announce_wake(void *base) {
  if (!fl_ring_announce(base)) return 0;
  fl_futex_wake((uint32_t *)&hdr(base)->sleeping, 1);
  return 1;
}

void fl_ring_wake(void *base) {
  atomic_store_explicit(&hdr(base)->sleeping, 0, memory_order_seq_cst);
  fl_futex_wake((uint32_t *)&hdr(base)->sleeping, 1);
}
