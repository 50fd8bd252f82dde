#include "agent/slo/series_table.h"

#include <cstring>

#include "agent/common/hash.h"

namespace lookout::slo {
namespace {

constexpr uint64_t kMul = 0x9e3779b97f4a7c15ULL;

uint64_t Load(const char* p, size_t n) {  // n <= 8, without a byte loop
  uint64_t v = 0;
  if (n >= 4) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);  // overlaps lo when n < 8; fine for hashing
    v = (static_cast<uint64_t>(hi) << 32) | lo;
  } else if (n > 0) {
    v = static_cast<uint64_t>(static_cast<unsigned char>(p[0])) << 16 |
        static_cast<uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
        static_cast<unsigned char>(p[n - 1]);
  }
  return v;
}

// 8 bytes at a time; label names and values are short, so the tail must be cheap too.
uint64_t HashBytes(std::string_view s, uint64_t seed) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = seed ^ (n * kMul);
  while (n > 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    h = (h ^ v) * kMul;
    h ^= h >> 29;
    p += 8;
    n -= 8;
  }
  h = (h ^ Load(p, n)) * kMul;
  return h ^ (h >> 29);
}

}  // namespace

uint64_t HashLabels(const Labels& labels, uint64_t salt, const Labels* more) {
  // A sum of per-label hashes does not depend on label order. 64 bits: two series of one event
  // set colliding has odds of about n^2 / 2^65 (3e-10 for 100k series).
  uint64_t h = MixBits(salt + kMul);
  for (const auto& l : labels) h += MixBits(HashBytes(l.value, HashBytes(l.name, 0x51ed27)));
  if (more) {
    for (const auto& l : *more) h += MixBits(HashBytes(l.value, HashBytes(l.name, 0x51ed27)));
  }
  return h;
}

void SeriesTable::IndexInsert(uint64_t hash, uint32_t idx) {
  const size_t mask = slots_.size() - 1;
  for (size_t i = MixBits(hash) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == 0) {
      keys_[i] = hash;
      slots_[i] = idx + 1;
      return;
    }
  }
}

void SeriesTable::Rebuild(size_t capacity) {
  keys_.assign(capacity, 0);
  slots_.assign(capacity, 0);
  for (uint32_t i = 0; i < states_.size(); ++i) {
    if (states_[i].group != kFree) IndexInsert(states_[i].hash, i);
  }
}

std::pair<uint32_t, bool> SeriesTable::FindOrInsert(uint64_t hash, uint32_t hint) {
  if (hint < states_.size() && states_[hint].hash == hash && states_[hint].group != kFree) {
    return {hint, false};
  }
  if (!slots_.empty()) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = MixBits(hash) & mask; slots_[i] != 0; i = (i + 1) & mask) {
      if (keys_[i] == hash) return {slots_[i] - 1, false};
    }
  }
  // New: keep the index at most half full.
  if ((size() + 1) * 2 > slots_.size()) Rebuild(std::max<size_t>(16, slots_.size() * 2));
  uint32_t idx;
  if (!free_.empty()) {
    idx = free_.back();
    free_.pop_back();
  } else {
    idx = static_cast<uint32_t>(states_.size());
    states_.emplace_back();
  }
  states_[idx] = State{};
  states_[idx].hash = hash;
  IndexInsert(hash, idx);
  return {idx, true};
}

}  // namespace lookout::slo
