#include "agent/slo/event_set.h"

#include <algorithm>
#include <string_view>

#include "agent/common/hash.h"

namespace lookout::slo {

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
      last_expire_tick_(start_tick) {
  hints_.resize(columns_.size());
  next_hints_.resize(columns_.size());
  for (size_t c = 0; c < columns_.size(); ++c) {
    const std::string& m = columns_[c].selector.metric;
    if (m.empty()) continue;  // derived
    auto it = std::find_if(by_metric_.begin(), by_metric_.end(),
                           [&](const auto& e) { return e.first == m; });
    if (it == by_metric_.end()) it = by_metric_.insert(by_metric_.end(), {m, {}});
    it->second.push_back(c);
  }
}

size_t EventSet::HeapBytes() const {
  size_t bytes = series_.HeapBytes() + pending_.capacity() * sizeof(double);
  for (const auto* hs : {&hints_, &next_hints_}) {
    for (const auto& h : *hs) bytes += h.capacity() * sizeof(uint32_t);
  }
  for (const auto& g : groups_) {
    if (!g) continue;
    bytes += sizeof(Group) + g->windows.HeapBytes();
    for (const auto& v : g->values) bytes += v.capacity() > 15 ? v.capacity() : 0;
  }
  return bytes;
}

namespace {

std::string_view ValueOf(const Labels& labels, const std::string& name) {
  for (const auto& l : labels) {
    if (l.name == name) return l.value;
  }
  return {};  // a missing label groups as ""
}

// The group index key: values joined by \xff (not valid UTF-8, so no label value contains it).
void AppendKey(std::string& key, std::string_view value) {
  key += value;
  key += '\xff';
}

}  // namespace

uint32_t EventSet::GroupFor(const Labels& labels, int64_t tick, double now_unix) {
  key_scratch_.clear();
  for (const auto& name : group_by_) AppendKey(key_scratch_, ValueOf(labels, name));
  if (auto it = group_index_.find(key_scratch_); it != group_index_.end()) return it->second;
  if (group_count() >= options_.max_groups) return kNoGroup;
  std::optional<Group> g(std::in_place, *layout_, columns(), tick);
  for (const auto& name : group_by_) g->values.emplace_back(ValueOf(labels, name));
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
      // Memory-bound (one cache miss per group): fetch a few groups ahead.
      constexpr size_t kAhead = 4;
      for (size_t i = 0; i < groups_.size(); ++i) {
        if (i + kAhead < groups_.size() && groups_[i + kAhead]) {
          groups_[i + kAhead]->windows.Prefetch();
        }
        if (groups_[i]) groups_[i]->windows.Apply(plan_, tick);
      }
    }
    tick_ = tick;
  }
  const size_t k = columns_.size();
  for (uint32_t gi : touched_) std::fill(&pending_[gi * k], &pending_[gi * k] + k, 0.0);
  touched_.clear();

  // One walk per metric name, shared by the columns reading it (an SLO's bad and total often
  // read one counter), so each series' labels are hashed once.
  for (const auto& entry : by_metric_) {
    const std::string& metric = entry.first;  // not a structured binding: the lambda uses them
    const std::vector<size_t>& cols = entry.second;
    for (size_t c : cols) next_hints_[c].clear();
    view.ForEach(metric, {}, [&](const SeriesRef& r) {
      if (!(r.value >= 0)) return;  // NaN or negative: not a counter reading
      uint64_t hash = 0;
      for (size_t c : cols) {
        const EventColumn& col = columns_[c];
        if (col.le && r.le != *col.le) continue;
        if (!MetricView::Matches(metric, col.selector.matchers, r)) continue;
        if (hash == 0) hash = HashLabels(r.labels, 0) | 1;
        Observe(c, hash + MixBits(c + 1), r, tick, now_unix);
      }
    });
    for (size_t c : cols) hints_[c].swap(next_hints_[c]);
  }
  for (uint32_t gi : touched_) {  // Observe sized pending_ for every group it touched
    double* p = &pending_[gi * k];
    if (derive_) derive_(p);
    Group& g = *groups_[gi];
    g.windows.Add(p);
  }
  // Expiry walks every series: do it about ten times per retention period, not every tick.
  if (tick - last_expire_tick_ >= std::max<int64_t>(1, options_.series_retention_ticks / 10)) {
    Expire(tick);
    last_expire_tick_ = tick;
  }
}

void EventSet::Observe(size_t c, uint64_t hash, const SeriesRef& r, int64_t tick, double now_unix) {
  const size_t k = columns_.size();
  const std::vector<uint32_t>& hints = hints_[c];
  const size_t pos = next_hints_[c].size();
  const auto [idx, inserted] =
      series_.FindOrInsert(hash, pos < hints.size() ? hints[pos] : SeriesTable::kNone);
  next_hints_[c].push_back(idx);
  const double created = r.created.value_or(0);
  double delta = 0;
  if (inserted) {
    const uint32_t group = GroupFor(r.labels, tick, now_unix);
    series_.at(idx).group = group;
    if (group == kNoGroup) {
      ++stats_.refused_series;
    } else {
      ++groups_[group]->live_series;
    }
    // Created after we started watching: every event it counted happened in our history.
    if (created > 0 && created >= start_unix_) delta = r.value;
  }
  SeriesTable::State& st = series_.at(idx);
  if (!inserted) {
    const bool reset = r.value < st.last || (created > 0 && st.created > 0 && created > st.created);
    stats_.resets += reset ? 1 : 0;
    delta = reset ? r.value : r.value - st.last;
  }
  st.last = r.value;
  st.created = created;
  st.last_seen = static_cast<uint32_t>(tick);
  if (st.group == kNoGroup || delta == 0) return;
  if (pending_.size() < groups_.size() * k) pending_.resize(groups_.size() * k, 0.0);
  double* p = &pending_[st.group * k];
  // Deltas are positive, so an all-zero row has not been touched this tick.
  bool fresh = true;
  for (size_t j = 0; j < k; ++j) fresh = fresh && p[j] == 0;
  if (fresh) touched_.push_back(st.group);
  p[c] += delta;
}

void EventSet::Expire(int64_t tick) {
  series_.EraseIf(
      [&](const SeriesTable::State& st) {
        return tick - static_cast<int64_t>(st.last_seen) > options_.series_retention_ticks;
      },
      [&](const SeriesTable::State& st) {
        if (st.group != kNoGroup) --groups_[st.group]->live_series;
      });
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
    for (const auto& v : g->values) AppendKey(key_scratch_, v);
    group_index_.erase(key_scratch_);
    g.reset();
    free_.push_back(gi);
    ++stats_.groups_removed;
  }
}

}  // namespace lookout::slo
