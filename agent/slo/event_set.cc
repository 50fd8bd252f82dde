#include "agent/slo/event_set.h"

#include <algorithm>
#include <string_view>

#include "agent/common/hash.h"

namespace lookout::slo {

uint64_t HashLabels(const Labels& labels, uint64_t salt) {
  // A sum of per-label hashes does not depend on label order. 64 bits: two series of one SLO
  // colliding has odds of about n^2 / 2^65 (1e-10 for 100k series).
  uint64_t h = MixBits(salt + 0x9e3779b97f4a7c15ULL);
  const std::hash<std::string_view> hs;
  for (const auto& l : labels) {
    h += MixBits(hs(l.name) * 31 + MixBits(hs(l.value)));
  }
  return h;
}

EventSet::EventSet(std::vector<EventColumn> columns, std::vector<std::string> group_by,
                   const WindowLayout& layout, EventSetOptions options, int64_t start_tick,
                   double start_unix, Derive derive)
    : columns_(std::move(columns)),
      group_by_(std::move(group_by)),
      layout_(&layout),
      options_(options),
      start_unix_(start_unix),
      derive_(std::move(derive)),
      tick_(start_tick),
      last_expire_tick_(start_tick) {}

size_t EventSet::HeapBytes() const {
  size_t bytes = series_.size() * (sizeof(SeriesState) + sizeof(uint64_t) + 2 * sizeof(void*)) +
                 series_.bucket_count() * sizeof(void*);
  for (const auto& g : groups_) {
    if (!g) continue;
    bytes += sizeof(Group) + g->windows.HeapBytes() + g->cumulative.capacity() * sizeof(double);
    for (const auto& v : g->values) bytes += v.capacity() > 15 ? v.capacity() : 0;
  }
  return bytes;
}

uint32_t EventSet::GroupFor(const Labels& labels, int64_t tick, double now_unix) {
  key_scratch_.clear();
  for (const auto& name : group_by_) {
    for (const auto& l : labels) {
      if (l.name == name) {
        key_scratch_ += l.value;
        break;
      }
    }
    key_scratch_ += '\xff';  // not valid UTF-8, so no label value contains it
  }
  if (auto it = group_index_.find(key_scratch_); it != group_index_.end()) return it->second;
  if (group_count() >= options_.max_groups) return kNoGroup;
  auto g = std::make_unique<Group>(*layout_, columns(), tick);
  for (const auto& name : group_by_) {
    std::string v;
    for (const auto& l : labels) {
      if (l.name == name) {
        v = l.value;
        break;
      }
    }
    g->values.push_back(std::move(v));
  }
  g->cumulative.assign(columns_.size(), 0.0);
  g->created_unix = now_unix;
  uint32_t idx;
  if (!free_.empty()) {
    idx = free_.back();
    free_.pop_back();
    groups_[idx] = std::move(g);
  } else {
    idx = static_cast<uint32_t>(groups_.size());
    groups_.push_back(std::move(g));
  }
  group_index_.emplace(key_scratch_, idx);
  return idx;
}

void EventSet::Update(const MetricView& view, int64_t tick, double now_unix) {
  // Time first: every group's buckets move to this tick (all groups share the set's tick, so
  // one plan fits all), then this tick's events go in.
  if (tick > tick_) {
    layout_->Plan(tick_, tick, &plan_);
    if (!plan_.empty()) {
      for (auto& g : groups_) {
        if (g) g->windows.Apply(plan_, tick);
      }
    }
    tick_ = tick;
  }
  const size_t k = columns_.size();
  for (uint32_t gi : touched_) std::fill(&pending_[gi * k], &pending_[gi * k] + k, 0.0);
  touched_.clear();

  for (size_t c = 0; c < k; ++c) {
    const EventColumn& col = columns_[c];
    if (col.selector.metric.empty()) continue;  // derived
    view.ForEach(col.selector.metric, col.selector.matchers, [&](const SeriesRef& r) {
      if (col.le && r.le != *col.le) return;
      if (!(r.value >= 0)) return;  // NaN or negative: not a counter reading
      const uint64_t h = HashLabels(r.labels, c);
      auto [it, inserted] = series_.try_emplace(h);
      SeriesState& st = it->second;
      const double created = r.created.value_or(0);
      double delta = 0;
      if (inserted) {
        st.group = GroupFor(r.labels, tick, now_unix);
        if (st.group == kNoGroup) {
          ++stats_.refused_series;
        } else {
          ++groups_[st.group]->live_series;
        }
        // Created after we started watching: every event it counted happened in our history.
        if (created > 0 && created >= start_unix_) delta = r.value;
      } else if (r.value < st.last || (created > 0 && st.created > 0 && created > st.created)) {
        ++stats_.resets;
        delta = r.value;
      } else {
        delta = r.value - st.last;
      }
      st.last = r.value;
      st.created = created;
      st.last_seen = tick;
      if (st.group == kNoGroup || delta == 0) return;
      if (pending_.size() < groups_.size() * k) pending_.resize(groups_.size() * k, 0.0);
      double* p = &pending_[st.group * k];
      // Deltas are positive, so an all-zero row has not been touched this tick.
      bool fresh = true;
      for (size_t j = 0; j < k; ++j) fresh = fresh && p[j] == 0;
      if (fresh) touched_.push_back(st.group);
      p[c] += delta;
    });
  }
  if (pending_.size() < groups_.size() * k) pending_.resize(groups_.size() * k, 0.0);
  for (uint32_t gi : touched_) {
    double* p = &pending_[gi * k];
    if (derive_) derive_(p);
    Group& g = *groups_[gi];
    g.windows.Add(p);
    for (size_t j = 0; j < k; ++j) g.cumulative[j] += p[j];
  }
  // Expiry walks every series: do it about ten times per retention period, not every tick.
  if (tick - last_expire_tick_ >= std::max<int64_t>(1, options_.series_retention_ticks / 10)) {
    Expire(tick);
    last_expire_tick_ = tick;
  }
}

void EventSet::Expire(int64_t tick) {
  for (auto it = series_.begin(); it != series_.end();) {
    if (tick - it->second.last_seen > options_.series_retention_ticks) {
      if (it->second.group != kNoGroup) --groups_[it->second.group]->live_series;
      it = series_.erase(it);
    } else {
      ++it;
    }
  }
  // A group with no series left and nothing in any window has nothing more to say.
  const size_t nw = layout_->windows().size();
  const int k = columns();
  for (uint32_t gi = 0; gi < groups_.size(); ++gi) {
    auto& g = groups_[gi];
    if (!g || g->live_series != 0) continue;
    bool empty = true;
    for (size_t w = 0; w < nw && empty; ++w) {
      for (int c = 0; c < k && empty; ++c) empty = g->windows.Sum(w, c) == 0;
    }
    if (!empty) continue;
    key_scratch_.clear();
    for (const auto& v : g->values) {
      key_scratch_ += v;
      key_scratch_ += '\xff';
    }
    group_index_.erase(key_scratch_);
    g.reset();
    free_.push_back(gi);
    ++stats_.groups_removed;
  }
}

}  // namespace lookout::slo
