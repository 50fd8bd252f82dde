#include "agent/common/malloc_tuning.h"

#include <malloc.h>

namespace lookout {

void TuneAllocator() {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);   // allocations below this come from the heap
  mallopt(M_TRIM_THRESHOLD, 128 << 20);  // free heap top kept up to this size
}

}  // namespace lookout
