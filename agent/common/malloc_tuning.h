#pragma once
// glibc malloc settings for a process that builds and drops multi-megabyte buffers on every
// scrape (a 110-pod node renders ~5 MB of text). By default glibc serves such buffers with
// mmap and returns them with munmap, so every scrape page-faults the whole buffer in again; on
// VMs page faults are expensive (the pod scrape benchmark went from 129 to 77 ms of CPU).
// Keeping freed memory in the heap up to these bounds trades a stable, bounded RSS for that.
namespace lookout {
void TuneAllocator();
// Gives free heap memory back to the system (malloc_trim): for a large buffer dropped for good,
// e.g. an application target's parse buffer once its body's shape holds (scrape_manager.cc),
// which the trim threshold above would otherwise keep in RSS. Costs a walk of the heap.
void ReleaseFreeMemory();
}  // namespace lookout
