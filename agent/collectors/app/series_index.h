#pragma once
// SeriesIndex: which sample of a family holds a series, found by the 64-bit hash of the series'
// sorted label set. The exposition parser looks up every sample line here, so it is one flat
// open-addressing array (linear probing, grown at half load) instead of a node and a key string
// per series: the 100k-series scrape spent most of its time in the string-keyed map this
// replaced. Two label sets with one 64-bit hash would be taken for one series: ~3e-10 odds at
// 100k series, the same trade Prometheus makes with its series hashes.
//
// FindOrInsert is inline (once per sample line); growing is out of line (series_index.cc).
//
// Thread-safety: none; each parse owns its indexes.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "agent/common/hash.h"

namespace lookout::app::detail {

class SeriesIndex {
 public:
  // Room for n series without growing (one rehash instead of a dozen for a big family).
  void Reserve(size_t n);

  // The index stored for `hash`, or, when the hash is new, `next_index` stored for it.
  // Returns {index, inserted}.
  std::pair<uint32_t, bool> FindOrInsert(uint64_t hash, uint32_t next_index) {
    if ((size_ + 1) * 2 > slots_.size()) Grow(slots_.empty() ? 16 : slots_.size() * 2);
    size_t i = Spread(hash) & (slots_.size() - 1);
    while (true) {
      Slot& slot = slots_[i];
      if (!slot.used) {
        slot = {hash, next_index, true};
        ++size_;
        return {next_index, true};
      }
      if (slot.hash == hash) return {slot.index, false};
      i = (i + 1) & (slots_.size() - 1);
    }
  }

 private:
  // The low bits that pick the slot must depend on every bit of the hash.
  static uint64_t Spread(uint64_t h) { return MixBits(h); }
  struct Slot {
    uint64_t hash = 0;
    uint32_t index = 0;
    bool used = false;
  };
  void Grow(size_t capacity);

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// The repeats among a one-value family's series hashes, given in line order: {position of the
// first line with that hash, position of a later one}, ordered by the later position. Found by
// a stable radix sort of (hash, position) pairs, so the work is sequential: a SeriesIndex
// lookup per line is a cache miss per line once the family outgrows the cache (17-20% of a
// 100k-series parse, measured 2026-12-02), where sorting 100k hashes takes about a millisecond.
// Empty when every hash is distinct (the usual body).
std::vector<std::pair<uint32_t, uint32_t>> FindRepeats(const std::vector<uint64_t>& hashes);

}  // namespace lookout::app::detail
