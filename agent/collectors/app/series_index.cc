#include "agent/collectors/app/series_index.h"

namespace lookout::app::detail {

void SeriesIndex::Reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  if (cap > slots_.size()) Grow(cap);
}

void SeriesIndex::Grow(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{});
  size_ = 0;
  for (const Slot& s : old) {
    if (s.used) FindOrInsert(s.hash, s.index);
  }
}

}  // namespace lookout::app::detail
