#include "exporters/remote_write/staleness.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string_view>

namespace lookout::remote_write {
namespace {

// A series' identity within the process: the standard library's hash of its label text (names
// and values, each \0-terminated). Two label sets colliding in 64 bits would only cost a missed
// marker. (EndpointWal keeps its own FNV-1a: a directory name must not change between builds.)
uint64_t Hash(std::string_view text) { return std::hash<std::string_view>{}(text); }

}  // namespace

bool IsStaleMarker(double v) { return std::bit_cast<uint64_t>(v) == kStaleNaNBits; }

void StalenessTracker::Begin() {
  next_arena_.clear();
  next_index_.clear();
  overflow_ = false;
}

void StalenessTracker::See(const WriteSeries& w) {
  const size_t start = next_arena_.size();
  for (const Label& l : w.labels) {
    next_arena_.append(l.name).push_back('\0');
    next_arena_.append(l.value).push_back('\0');
  }
  // Offsets are 32-bit: a collection with over 4 GiB of label text is not tracked.
  if (next_arena_.size() > UINT32_MAX) overflow_ = true;
  if (overflow_) return;
  const std::string_view text(next_arena_.data() + start, next_arena_.size() - start);
  next_index_.push_back({Hash(text), w.timestamp_ms, static_cast<uint32_t>(start),
                         static_cast<uint32_t>(text.size())});
}

void StalenessTracker::Finish(WriteSeries& w, const std::function<void(const WriteSeries&)>& fn) {
  if (overflow_) Begin();  // forget both: no markers rather than wrong ones
  std::sort(next_index_.begin(), next_index_.end(),
            [](const Row& a, const Row& b) { return a.hash < b.hash; });
  auto now = next_index_.begin();
  for (const Row& old : index_) {
    while (now != next_index_.end() && now->hash < old.hash) ++now;
    if (now != next_index_.end() && now->hash == old.hash) continue;
    w.labels.clear();
    std::string_view text(arena_.data() + old.offset, old.size);
    while (!text.empty()) {
      const size_t a = text.find('\0');
      const size_t b = text.find('\0', a + 1);
      w.labels.push_back(
          Label{std::string(text.substr(0, a)), std::string(text.substr(a + 1, b - a - 1))});
      text.remove_prefix(b + 1);
    }
    w.value = std::bit_cast<double>(kStaleNaNBits);
    w.timestamp_ms = old.timestamp_ms + 1;
    w.exemplar.reset();
    fn(w);
  }
  std::swap(arena_, next_arena_);
  std::swap(index_, next_index_);
}

}  // namespace lookout::remote_write
