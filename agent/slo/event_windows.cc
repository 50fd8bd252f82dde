#include "agent/slo/event_windows.h"

#include <algorithm>
#include <string>

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
      return MakeError("window", "window " + FormatSloDuration(w) +
                                     " is not a whole number of ticks of " +
                                     FormatSloDuration(tick));
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
    : layout_(&layout), k_(counters), tick_(start_tick) {
  const size_t nw = layout.windows().size();
  ring_ = std::make_unique<float[]>(layout.ring_slots() * static_cast<size_t>(k_));
  closed_sum_ = std::make_unique<double[]>(nw * static_cast<size_t>(k_));
  open_ = std::make_unique<double[]>(nw * static_cast<size_t>(k_));
}

size_t WindowedCounts::HeapBytes() const {
  const size_t nw = layout_->windows().size();
  return layout_->ring_slots() * static_cast<size_t>(k_) * sizeof(float) +
         2 * nw * static_cast<size_t>(k_) * sizeof(double);
}

void WindowedCounts::Close(size_t w, int64_t bucket) {
  const auto& win = layout_->windows()[w];
  const int64_t slots = win.buckets - 1;
  double* open = &open_[w * k_];
  if (slots == 0) {  // a one-bucket window: what closes leaves at once
    std::fill(open, open + k_, 0.0);
    return;
  }
  const size_t slot = win.ring_offset + static_cast<size_t>(bucket % slots);
  float* ring = &ring_[slot * k_];
  double* sum = &closed_sum_[w * k_];
  for (int c = 0; c < k_; ++c) {
    const float v = static_cast<float>(open[c]);
    sum[c] += static_cast<double>(v) - static_cast<double>(ring[c]);
    ring[c] = v;
    open[c] = 0;
  }
  if ((bucket + 1) % slots == 0) Recompute(w);
}

void WindowedCounts::Recompute(size_t w) {
  const auto& win = layout_->windows()[w];
  double* sum = &closed_sum_[w * k_];
  std::fill(sum, sum + k_, 0.0);
  for (int64_t s = 0; s < win.buckets - 1; ++s) {
    const float* ring = &ring_[(win.ring_offset + static_cast<size_t>(s)) * k_];
    for (int c = 0; c < k_; ++c) sum[c] += ring[c];
  }
}

void WindowLayout::Plan(int64_t from_tick, int64_t to_tick, std::vector<Rotation>* out) const {
  out->clear();
  if (to_tick <= from_tick) return;
  for (size_t w = 0; w < windows_.size(); ++w) {
    const int64_t old_bucket = from_tick / windows_[w].ticks_per_bucket;
    const int64_t new_bucket = to_tick / windows_[w].ticks_per_bucket;
    if (new_bucket != old_bucket) out->push_back({w, old_bucket, new_bucket});
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
      std::fill(&ring_[win.ring_offset * k_],
                &ring_[(win.ring_offset + static_cast<size_t>(win.buckets - 1)) * k_], 0.0f);
      std::fill(&closed_sum_[w * k_], &closed_sum_[(w + 1) * k_], 0.0);
      std::fill(&open_[w * k_], &open_[(w + 1) * k_], 0.0);
      continue;
    }
    for (int64_t b = r.old_bucket; b < r.new_bucket; ++b) Close(w, b);  // later ones are empty
  }
  tick_ = tick;
}

void WindowedCounts::Add(const double* deltas) {
  const size_t nw = layout_->windows().size();
  for (size_t w = 0; w < nw; ++w) {
    double* open = &open_[w * k_];
    for (int c = 0; c < k_; ++c) open[c] += deltas[c];
  }
}

}  // namespace lookout::slo
