// malloc tuning for the pool's worker processes (ForklinePool's PoolWorker.keepLargeBuffers).
#include "CForkline.h"

#include <malloc.h>

void fl_malloc_keep_large(int mmap_threshold, int trim_threshold) {
  mallopt(M_MMAP_THRESHOLD, mmap_threshold);
  mallopt(M_TRIM_THRESHOLD, trim_threshold);
}
