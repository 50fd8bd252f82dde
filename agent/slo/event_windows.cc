#include "agent/slo/event_windows.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "agent/slo/state_codec.h"

namespace lookout::slo {

Result<WindowLayout> WindowLayout::Make(SloDuration tick, const std::vector<SloDuration>& windows,
                                        int64_t max_buckets_per_window) {
  if (tick.count() <= 0) return MakeError("window", "the tick must be positive");
  WindowLayout l;
  l.tick_ = tick;
  std::vector<SloDuration> sorted = windows;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (const SloDuration w : sorted) {
    if (w < tick || w.count() % tick.count() != 0) {
      return MakeError("window", fmt::format("window {} is not a whole number of ticks of {}",
                                             FormatSloDuration(w), FormatSloDuration(tick)));
    }
    const int64_t ticks = w.count() / tick.count();
    // The largest divisor of the window's ticks not above the bucket budget, so buckets tile the
    // window exactly.
    int64_t n = std::min(ticks, std::max<int64_t>(1, max_buckets_per_window));
    while (ticks % n != 0) --n;
    Window win;
    win.length = w;
    win.buckets = n;
    win.ticks_per_bucket = ticks / n;
    win.ring_offset = l.ring_slots_;
    l.ring_slots_ += static_cast<size_t>(n - 1);
    l.windows_.push_back(win);
  }
  return l;
}

int WindowLayout::Find(SloDuration length) const {
  for (size_t i = 0; i < windows_.size(); ++i) {
    if (windows_[i].length == length) return static_cast<int>(i);
  }
  return -1;
}

SloDuration WindowLayout::Resolution(size_t i) const {
  return tick_ * (windows_[i].ticks_per_bucket - 1);
}

WindowedCounts::WindowedCounts(const WindowLayout& layout, int counters, int64_t start_tick)
    : layout_(&layout),
      k_(counters),
      tick_(start_tick),
      doubles_(static_cast<size_t>(counters) * (1 + 2 * layout.windows().size())),
      block_(new std::byte[BlockBytes()]) {
  std::fill(doubles(), doubles() + doubles_, 0.0);
  std::fill(ring(), ring() + layout.ring_slots() * static_cast<size_t>(k_), 0.0f);
}

size_t WindowedCounts::BlockBytes() const {
  return doubles_ * sizeof(double) +
         layout_->ring_slots() * static_cast<size_t>(k_) * sizeof(float);
}

void WindowedCounts::Close(size_t w, size_t slot_in_window) {
  const auto& win = layout_->windows()[w];
  const size_t slots = static_cast<size_t>(win.buckets - 1);
  double* snap = WindowDoubles(w);
  const double* cum = doubles();
  if (slots == 0) {  // a one-bucket window: what closes leaves at once
    std::copy(cum, cum + k_, snap);
    return;
  }
  const size_t slot = win.ring_offset + slot_in_window;
  float* ring = &this->ring()[slot * k_];
  double* closed = snap + k_;
  for (int c = 0; c < k_; ++c) {
    const float v = static_cast<float>(cum[c] - snap[c]);
    closed[c] += static_cast<double>(v) - static_cast<double>(ring[c]);
    ring[c] = v;
    snap[c] = cum[c];
  }
  if (slot_in_window + 1 == slots) Recompute(w);  // the ring wrapped: drop rounding drift
}

void WindowedCounts::Recompute(size_t w) {
  const auto& win = layout_->windows()[w];
  double* closed = WindowDoubles(w) + k_;
  std::fill(closed, closed + k_, 0.0);
  for (int64_t s = 0; s < win.buckets - 1; ++s) {
    const float* ring = &this->ring()[(win.ring_offset + static_cast<size_t>(s)) * k_];
    for (int c = 0; c < k_; ++c) closed[c] += ring[c];
  }
}

void WindowLayout::Plan(int64_t from_tick, int64_t to_tick, std::vector<Rotation>* out) const {
  out->clear();
  if (to_tick <= from_tick) return;
  for (size_t w = 0; w < windows_.size(); ++w) {
    const int64_t old_bucket = from_tick / windows_[w].ticks_per_bucket;
    const int64_t new_bucket = to_tick / windows_[w].ticks_per_bucket;
    const int64_t slots = windows_[w].buckets - 1;
    if (new_bucket != old_bucket) {
      out->push_back(
          {w, old_bucket, new_bucket, slots > 0 ? static_cast<size_t>(old_bucket % slots) : 0});
    }
  }
}

void WindowedCounts::AdvanceTo(int64_t tick) {
  std::vector<WindowLayout::Rotation> plan;
  layout_->Plan(tick_, tick, &plan);
  Apply(plan, tick);
}

void WindowedCounts::Apply(const std::vector<WindowLayout::Rotation>& plan, int64_t tick) {
  if (tick <= tick_) return;
  for (const auto& r : plan) {
    const size_t w = r.window;
    const auto& win = layout_->windows()[w];
    if (r.new_bucket - r.old_bucket >= win.buckets) {  // all we hold is older than the window
      std::fill(&ring()[win.ring_offset * k_],
                &ring()[(win.ring_offset + static_cast<size_t>(win.buckets - 1)) * k_], 0.0f);
      double* snap = WindowDoubles(w);
      std::copy(doubles(), doubles() + k_, snap);  // the open bucket starts empty
      std::fill(snap + k_, snap + 2 * static_cast<size_t>(k_), 0.0);
      continue;
    }
    const size_t slots = static_cast<size_t>(win.buckets - 1);
    size_t slot = r.first_slot;
    for (int64_t b = r.old_bucket; b < r.new_bucket; ++b) {  // later ones close empty
      Close(w, slot);
      if (slots > 0 && ++slot == slots) slot = 0;
    }
  }
  tick_ = tick;
}

void WindowedCounts::AddSpread(const double* deltas, int64_t from_tick, int64_t now_tick) {
  if (from_tick >= now_tick) {
    Add(deltas);
    return;
  }
  const double gap_ticks = static_cast<double>(now_tick - from_tick);
  double* cum = doubles();
  for (int c = 0; c < k_; ++c) cum[c] += deltas[c];  // every event counts in Total()
  const auto& windows = layout_->windows();
  for (size_t w = 0; w < windows.size(); ++w) {
    const auto& win = windows[w];
    const int64_t tpb = win.ticks_per_bucket;
    const int64_t now_bucket = now_tick / tpb;
    double* snap = WindowDoubles(w);
    double* closed = snap + k_;
    // The open bucket's share: adding to the cumulative gave it every delta; keep only the
    // ticks of the gap inside it.
    const int64_t open_first = std::max(from_tick + 1, now_bucket * tpb);
    const double open_share = static_cast<double>(now_tick - open_first + 1) / gap_ticks;
    for (int c = 0; c < k_; ++c) snap[c] += deltas[c] * (1 - open_share);
    const int64_t slots = win.buckets - 1;
    const int64_t first_bucket = std::max((from_tick + 1) / tpb, now_bucket - slots);
    for (int64_t b = first_bucket; b < now_bucket; ++b) {
      const int64_t first = std::max(from_tick + 1, b * tpb);
      const int64_t last = (b + 1) * tpb - 1;
      const double share = static_cast<double>(last - first + 1) / gap_ticks;
      float* ring = &this->ring()[(win.ring_offset + static_cast<size_t>(b % slots)) * k_];
      for (int c = 0; c < k_; ++c) {
        const float v = ring[c] + static_cast<float>(deltas[c] * share);
        closed[c] += static_cast<double>(v) - static_cast<double>(ring[c]);
        ring[c] = v;
      }
    }
  }
}

void WindowedCounts::Save(StateWriter& w) const {
  w.Put<int64_t>(tick_);
  w.Put<uint32_t>(static_cast<uint32_t>(BlockBytes()));
  w.PutBytes(block_.get(), BlockBytes());
}

bool WindowedCounts::Restore(StateReader& r) {
  int64_t tick = 0;
  uint32_t bytes = 0;
  if (!r.Get(&tick) || !r.Get(&bytes)) return false;
  if (bytes != BlockBytes() || tick < 0) return r.Fail();
  auto block = std::make_unique<std::byte[]>(bytes);
  if (!r.GetBytes(block.get(), bytes)) return false;
  const auto* d = reinterpret_cast<const double*>(block.get());
  for (size_t i = 0; i < doubles_; ++i) {
    if (!std::isfinite(d[i]) || d[i] < 0) return r.Fail();
  }
  const auto* f = reinterpret_cast<const float*>(d + doubles_);
  for (size_t i = 0; i < layout_->ring_slots() * static_cast<size_t>(k_); ++i) {
    if (!std::isfinite(f[i]) || f[i] < 0) return r.Fail();
  }
  block_ = std::move(block);
  tick_ = tick;
  return true;
}

}  // namespace lookout::slo
