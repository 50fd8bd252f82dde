#pragma once
// The last reading of every counter series an event set follows, by 64-bit hash of its labels.
//
// Built for the engine's tick: states live in one dense vector (no node per series), an
// open-addressing index finds them by hash, and a caller may pass a hint (the state it found at
// the same position of the previous tick's walk, which is almost always the right one because
// sources list their series in a stable order), so most lookups touch one cache line.
//
// Not thread-safe: owned by one EventSet.

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout::slo {

class SeriesTable {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  struct State {
    uint64_t hash = 0;
    double last = 0;
    double created = 0;      // unix seconds; 0 = unknown
    uint32_t last_seen = 0;  // tick
    uint32_t group = kNone;  // the group it counts for; kNone: refused
  };

  // The state for `hash` (`hint` is checked first), and whether it was just created.
  std::pair<uint32_t, bool> FindOrInsert(uint64_t hash, uint32_t hint);
  State& at(uint32_t i) { return states_[i]; }
  // Drops the states `pred` selects, calling `on_erase` on each first.
  template <typename Pred, typename OnErase>
  void EraseIf(Pred pred, OnErase on_erase);
  // Calls f(const State&) on every state in use.
  template <typename F>
  void ForEach(F f) const {
    for (const State& s : states_) {
      if (s.group != kFree) f(s);
    }
  }
  size_t size() const { return states_.size() - free_.size(); }
  size_t HeapBytes() const {
    return states_.capacity() * sizeof(State) + free_.capacity() * sizeof(uint32_t) +
           keys_.capacity() * sizeof(uint64_t) + slots_.capacity() * sizeof(uint32_t);
  }

 private:
  static constexpr uint32_t kFree = UINT32_MAX - 1;  // State::group of a free state
  void Rebuild(size_t capacity);
  void IndexInsert(uint64_t hash, uint32_t idx);

  std::vector<State> states_;
  std::vector<uint32_t> free_;
  std::vector<uint64_t> keys_;   // index: hash per slot
  std::vector<uint32_t> slots_;  // index: state + 1 per slot; 0 = empty
};

template <typename Pred, typename OnErase>
void SeriesTable::EraseIf(Pred pred, OnErase on_erase) {
  bool erased = false;
  for (uint32_t i = 0; i < states_.size(); ++i) {
    State& s = states_[i];
    if (s.group == kFree || !pred(s)) continue;
    on_erase(s);
    s = State{};
    s.group = kFree;
    free_.push_back(i);
    erased = true;
  }
  if (erased) Rebuild(slots_.size());  // linear probing has no cheap delete: re-index
}

// Order-independent 64-bit hash of a label set (plus a salt, e.g. the column). With `more`
// (may be null), of labels and more together: the same as of one set holding both.
uint64_t HashLabels(const Labels& labels, uint64_t salt, const Labels* more = nullptr);

}  // namespace lookout::slo
