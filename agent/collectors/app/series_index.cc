#include "agent/collectors/app/series_index.h"

#include <algorithm>
#include <array>

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

std::vector<std::pair<uint32_t, uint32_t>> FindRepeats(const std::vector<uint64_t>& hashes) {
  std::vector<std::pair<uint32_t, uint32_t>> repeats;
  const size_t n = hashes.size();
  if (n < 2) return repeats;
  struct Entry {
    uint64_t hash;
    uint32_t position;
  };
  std::vector<Entry> a(n), b(n);
  for (size_t i = 0; i < n; ++i) a[i] = {hashes[i], static_cast<uint32_t>(i)};
  // LSD radix sort, 8 bits a pass: each pass is stable, so equal hashes end up adjacent and in
  // line order. 256 buckets keep the scatter's write streams in cache.
  for (unsigned shift = 0; shift < 64; shift += 8) {
    std::array<size_t, 257> at{};
    for (const Entry& e : a) ++at[((e.hash >> shift) & 0xff) + 1];
    for (size_t d = 1; d < at.size(); ++d) at[d] += at[d - 1];
    for (const Entry& e : a) b[at[(e.hash >> shift) & 0xff]++] = e;
    a.swap(b);
  }
  for (size_t i = 0; i < n;) {  // each run of one hash: its first line, then the repeats
    size_t j = i + 1;
    for (; j < n && a[j].hash == a[i].hash; ++j) repeats.emplace_back(a[i].position, a[j].position);
    i = j;
  }
  std::sort(repeats.begin(), repeats.end(),
            [](const auto& x, const auto& y) { return x.second < y.second; });
  return repeats;
}

}  // namespace lookout::app::detail
