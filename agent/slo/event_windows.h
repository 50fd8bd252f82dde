#pragma once
// Sliding-window event sums in bounded memory: the SLO engine's window math.
//
// Time advances in ticks (slo.tick, default 10s). Each window W is cut into n buckets of
// W/n (n = the largest divisor of W/tick not above slo.buckets_per_window), so a window's sum
// is the open bucket plus the n-1 buckets before it: it covers between W - W/n + tick and
// exactly W of the most recent history. Events are never extrapolated and never averaged; the
// only error is that up to one bucket (W/n, less one tick) of the oldest events may already
// have left the window. With the defaults (10s tick, 60 buckets) that is exact to the tick for
// 5m and at most 1/60 of the window for the others (30s of 30m, 1h of 3d, 12h of 30d).
//
// Closed buckets are stored as float (the events of one bucket keep 24 bits of precision: a
// relative error under 6e-8); open buckets and window sums are doubles, and a window's sum is
// recomputed from its buckets each time its ring wraps, so rounding cannot drift.
//
// Not thread-safe: the SLO engine guards each WindowedCounts with its own lock.

#include <cstdint>
#include <memory>
#include <vector>

#include "lookout/result.h"
#include "lookout/slo/slo_spec.h"

namespace lookout::slo {

// Which windows, and how each is bucketed. Shared by every group of one SLO.
class WindowLayout {
 public:
  struct Window {
    SloDuration length{};
    int64_t ticks_per_bucket = 1;
    int64_t buckets = 1;     // n, the open bucket included
    size_t ring_offset = 0;  // first closed-bucket slot of this window, per counter
  };
  // Errors (reason "window"): a window that is not a whole number of ticks.
  static Result<WindowLayout> Make(SloDuration tick, const std::vector<SloDuration>& windows,
                                   int64_t max_buckets_per_window);
  SloDuration tick() const { return tick_; }
  const std::vector<Window>& windows() const { return windows_; }
  size_t ring_slots() const { return ring_slots_; }  // closed-bucket slots, all windows
  // Index of a window by length; -1 if absent.
  int Find(SloDuration length) const;
  // The worst-case shortfall of window i: W/n - tick.
  SloDuration Resolution(size_t i) const;

  // The bucket changes between two ticks, computed once per tick and applied to every group.
  struct Rotation {
    size_t window;
    int64_t old_bucket;
    int64_t new_bucket;
    size_t first_slot;  // ring slot of old_bucket (old_bucket % (buckets - 1)), 0 if none
  };
  void Plan(int64_t from_tick, int64_t to_tick, std::vector<Rotation>* out) const;

 private:
  SloDuration tick_{};
  std::vector<Window> windows_;
  size_t ring_slots_ = 0;
};

// K event counters (e.g. good and total) summed over every window of a layout.
class WindowedCounts {
 public:
  WindowedCounts(const WindowLayout& layout, int counters, int64_t start_tick);
  // Moves time forward to `tick` (no-op if not later): buckets that close are stored, buckets
  // skipped over (the engine stalled, or no events) are empty, and what falls out of a window
  // leaves its sum.
  void AdvanceTo(int64_t tick);
  // The same with a plan from WindowLayout::Plan(tick(), tick) (the engine's fast path).
  void Apply(const std::vector<WindowLayout::Rotation>& plan, int64_t tick);
  // Adds events (one value per counter) at the current tick.
  void Add(const double* deltas) {
    double* cum = doubles();
    for (int c = 0; c < k_; ++c) cum[c] += deltas[c];
  }
  // Events of counter `c` in window `w`: the closed buckets plus the open one (all events
  // since the window's current bucket began).
  double Sum(size_t w, int c) const {
    const double* win = WindowDoubles(w);
    return win[k_ + c] + (doubles()[c] - win[c]);
  }
  // Events of counter `c` since this object was made.
  double Total(int c) const { return doubles()[c]; }
  // Hints the CPU to load the block's head (what Add and the 5m rotation touch).
  void Prefetch() const { __builtin_prefetch(block_.get(), 1); }
  int counters() const { return k_; }
  int64_t tick() const { return tick_; }
  // Heap bytes this object owns (for the memory benchmark and lookout_slo_memory_bytes).
  size_t HeapBytes() const { return BlockBytes(); }

  // Adds events that happened at a uniform rate over the ticks (from_tick, now_tick] (the agent
  // was down: the counters' increase over the gap is all that is known of it). Each window gets
  // the share of the gap its buckets still cover, in the buckets the gap spans; the share older
  // than a window is only in Total(). `now_tick` is the current tick: tick(), or a later one in
  // the same buckets (an event set moves its groups only when a bucket closes).
  // `from_tick` >= now_tick adds at the current tick, as Add.
  void AddSpread(const double* deltas, int64_t from_tick, int64_t now_tick);

  // The state file (agent/slo/state_file.h): the tick and the block as stored, and back. Restore
  // refuses (false) a block of another size (another layout) or values that are not finite and
  // non-negative, and leaves the object as it was.
  void Save(class StateWriter& w) const;
  bool Restore(class StateReader& r);

 private:
  // Closes window w's open bucket into ring slot `slot` (a position within the window's ring).
  void Close(size_t w, size_t slot);
  void Recompute(size_t w);

  // One allocation, laid out for the tick's hot path (Add touches the first cache line, the
  // 5m window's rotation the next): doubles cumulative[c], then per window snapshot[c] (the
  // cumulative when its open bucket began) and closed[c] (sum of its closed buckets); then the
  // closed buckets as floats, [ring_offset(w) + slot][c]. A window's open bucket is
  // cumulative - snapshot, so adding events writes K doubles, not K per window.
  double* doubles() const { return reinterpret_cast<double*>(block_.get()); }
  double* WindowDoubles(size_t w) const { return doubles() + k_ + 2 * static_cast<size_t>(k_) * w; }
  float* ring() const { return reinterpret_cast<float*>(doubles() + doubles_); }
  size_t BlockBytes() const;

  const WindowLayout* layout_;
  int k_;
  int64_t tick_;
  size_t doubles_;  // k + 2 k windows
  std::unique_ptr<std::byte[]> block_;
};

}  // namespace lookout::slo
