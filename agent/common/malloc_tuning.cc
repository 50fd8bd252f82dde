#include "agent/common/malloc_tuning.h"

#include <malloc.h>

namespace lookout {

void TuneAllocator() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);   // allocations below this come from the heap
  mallopt(M_TRIM_THRESHOLD, 128 << 20);  // free heap top kept up to this size
  // One arena for all threads. A scrape worker's own arena grows in separate 64 MiB mmap'd
  // heaps that glibc unmaps as soon as they empty, so every 100k-series scrape page-faulted
  // its buffers back in (a third of its time). The main arena keeps them (trim threshold
  // above); the agent has a handful of threads, so sharing one arena costs little.
  mallopt(M_ARENA_MAX, 1);
}

void ReleaseFreeMemory() { malloc_trim(0); }

}  // namespace lookout
