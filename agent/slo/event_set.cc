#include "agent/slo/event_set.h"

#include <algorithm>
#include <bit>
#include <cmath>
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
  for (size_t c = 0; c < columns_.size(); ++c) {
    const std::string& m = columns_[c].selector.metric;
    if (m.empty()) continue;  // derived
    auto it = std::find_if(by_metric_.begin(), by_metric_.end(),
                           [&](const auto& e) { return e.first == m; });
    if (it == by_metric_.end()) it = by_metric_.insert(by_metric_.end(), {m, {}});
    it->second.push_back(c);
  }
  hints_.resize(by_metric_.size());
  next_hints_.resize(by_metric_.size());
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

// The group index key: values joined by \xff (not valid UTF-8, so no label value contains it).
void AppendKey(std::string& key, std::string_view value) {
  key += value;
  key += '\xff';
}

}  // namespace

uint32_t EventSet::GroupFor(const SeriesRef& r, int64_t tick, double now_unix) {
  key_scratch_.clear();
  // A missing label groups as "".
  for (const auto& name : group_by_) AppendKey(key_scratch_, r.Label(name));
  if (auto it = group_index_.find(key_scratch_); it != group_index_.end()) return it->second;
  if (group_count() >= options_.max_groups) return kNoGroup;
  std::optional<Group> g(std::in_place, *layout_, columns(), tick);
  for (const auto& name : group_by_) g->values.emplace_back(r.Label(name));
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

void EventSet::AdvanceTo(int64_t tick) {
  if (tick <= tick_) return;
  // All groups share the set's tick, so one plan fits all.
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

void EventSet::Resume(int64_t tick) {
  AdvanceTo(tick);
  resume_tick_ = tick;
  last_expire_tick_ = tick;
}

void EventSet::Update(const MetricView& view, int64_t tick, double now_unix) {
  // Time first: every group's buckets move to this tick, then this tick's events go in.
  AdvanceTo(tick);
  const size_t k = columns_.size();
  for (uint32_t gi : touched_) std::fill(&pending_[gi * k], &pending_[gi * k] + k, 0.0);
  touched_.clear();

  // One walk per metric name, shared by the columns reading it (an SLO's bad and total often
  // read one counter), and one state per series, whatever number of columns count it: its labels
  // are hashed once, its increase computed once, its resets counted once.
  for (size_t w = 0; w < by_metric_.size(); ++w) {
    const std::string& metric = by_metric_[w].first;  // the lambda cannot capture bindings
    const std::vector<size_t>& cols = by_metric_[w].second;
    const uint64_t salt = MixBits(w + 1);
    next_hints_[w].clear();
    view.ForEach(metric, {}, [&](const SeriesRef& r) {
      if (!(r.value >= 0)) return;  // NaN or negative: not a counter reading
      uint32_t mask = 0;            // which of the walk's columns count this series
      for (size_t i = 0; i < cols.size(); ++i) {
        const EventColumn& col = columns_[cols[i]];
        if (col.le && r.le != *col.le) continue;
        if (!MetricView::Matches(metric, col.selector.matchers, r)) continue;
        mask |= 1u << i;
      }
      if (mask == 0) return;
      // A bucket's bound is part of its identity (NaN, the same for all, on other series).
      const uint64_t hash = (HashLabels(r.labels, 0, r.target_labels) + salt +
                             MixBits(std::bit_cast<uint64_t>(r.le))) |
                            1;
      Observe(w, mask, hash, r, tick, now_unix);
    });
    hints_[w].swap(next_hints_[w]);
  }
  for (uint32_t gi : touched_) {  // Observe sized pending_ for every group it touched
    double* p = &pending_[gi * k];
    if (derive_) derive_(p);
    Group& g = *groups_[gi];
    g.windows.Add(p);
  }
  for (uint32_t gi : spread_touched_) {
    double* p = &spread_pending_[gi * k];
    if (derive_) derive_(p);
    groups_[gi]->windows.AddSpread(p, restored_tick_, tick_);
    std::fill(p, p + k, 0.0);
  }
  spread_touched_.clear();
  // Expiry walks every series: do it about ten times per retention period, not every tick.
  if (tick - last_expire_tick_ >= std::max<int64_t>(1, options_.series_retention_ticks / 10)) {
    Expire(tick);
    last_expire_tick_ = tick;
  }
}

void EventSet::Observe(size_t walk, uint32_t columns, uint64_t hash, const SeriesRef& r,
                       int64_t tick, double now_unix) {
  const size_t k = columns_.size();
  const std::vector<uint32_t>& hints = hints_[walk];
  const size_t pos = next_hints_[walk].size();
  const auto [idx, inserted] =
      series_.FindOrInsert(hash, pos < hints.size() ? hints[pos] : SeriesTable::kNone);
  next_hints_[walk].push_back(idx);
  const double created = r.created.value_or(0);
  double delta = 0;
  if (inserted) {
    const uint32_t group = GroupFor(r, tick, now_unix);
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
  // Last seen before a restore: its increase happened while the agent was down.
  const bool spread = !inserted && restored_tick_ >= 0 && st.last_seen <= restored_tick_;
  st.last = r.value;
  st.created = created;
  st.last_seen = static_cast<uint32_t>(tick);
  if (st.group == kNoGroup || delta == 0) return;
  std::vector<double>& rows = spread ? spread_pending_ : pending_;
  if (rows.size() < groups_.size() * k) rows.resize(groups_.size() * k, 0.0);
  double* p = &rows[st.group * k];
  // Deltas are positive, so an all-zero row has not been touched this tick.
  bool fresh = true;
  for (size_t j = 0; j < k; ++j) fresh = fresh && p[j] == 0;
  if (fresh) (spread ? spread_touched_ : touched_).push_back(st.group);
  const std::vector<size_t>& cols = by_metric_[walk].second;
  for (size_t i = 0; i < cols.size(); ++i) {
    if (columns & (1u << i)) p[cols[i]] += delta;
  }
}

void EventSet::Expire(int64_t tick) {
  series_.EraseIf(
      [&](const SeriesTable::State& st) {
        const int64_t seen = std::max<int64_t>(st.last_seen, resume_tick_);
        return tick - seen > options_.series_retention_ticks;
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

size_t EventSet::SavedBytes() const {
  size_t bytes = 4 + 8 + 8 + 3 * 8 + 4 + 4 + series_.size() * 32;
  for (const auto& g : groups_) {
    bytes += 1;
    if (!g) continue;
    for (const auto& v : g->values) bytes += 4 + v.size();
    bytes += 8 + 8 + 4 + g->windows.HeapBytes();
  }
  return bytes;
}

void EventSet::Save(StateWriter& w) const {
  w.Put<uint32_t>(static_cast<uint32_t>(columns_.size()));
  w.Put<int64_t>(tick_);
  w.Put<int64_t>(last_expire_tick_);
  w.Put<uint64_t>(stats_.resets);
  w.Put<uint64_t>(stats_.refused_series);
  w.Put<uint64_t>(stats_.groups_removed);
  w.Put<uint32_t>(static_cast<uint32_t>(groups_.size()));
  for (const auto& g : groups_) {
    w.Put<uint8_t>(g ? 1 : 0);
    if (!g) continue;
    for (const auto& v : g->values) w.PutString(v);
    w.Put<double>(g->created_unix);
    g->windows.Save(w);
  }
  w.Put<uint32_t>(static_cast<uint32_t>(series_.size()));
  series_.ForEach([&](const SeriesTable::State& st) {
    w.Put<uint64_t>(st.hash);
    w.Put<double>(st.last);
    w.Put<double>(st.created);
    w.Put<uint32_t>(st.last_seen);
    w.Put<uint32_t>(st.group);
  });
}

bool EventSet::Restore(StateReader& r, int64_t max_tick) {
  constexpr size_t kMaxLabelValue = 1 << 20;
  uint32_t k = 0, slots = 0, series = 0;
  int64_t tick = 0, last_expire = 0;
  Stats stats;
  if (!r.Get(&k) || k != columns_.size()) return r.Fail();
  if (!r.Get(&tick) || !r.Get(&last_expire) || tick < 0 || last_expire < 0 || last_expire > tick ||
      tick > max_tick) {
    return r.Fail();
  }
  if (!r.Get(&stats.resets) || !r.Get(&stats.refused_series) || !r.Get(&stats.groups_removed)) {
    return false;
  }
  // A group slot takes at least its presence byte; slots are read one by one (never sized up
  // front), so a corrupt count runs out of input before it can claim memory.
  if (!r.GetCount(&slots, 1)) return false;
  std::vector<std::optional<Group>> groups;
  std::unordered_map<std::string, uint32_t> index;
  std::vector<uint32_t> free;
  for (uint32_t i = 0; i < slots; ++i) {
    uint8_t present = 0;
    if (!r.Get(&present) || present > 1) return r.Fail();
    auto& slot = groups.emplace_back();
    if (!present) {
      free.push_back(i);
      continue;
    }
    auto& g = slot.emplace(*layout_, columns(), tick);
    std::string key;
    for (size_t v = 0; v < group_by_.size(); ++v) {
      if (!r.GetString(&g.values.emplace_back(), kMaxLabelValue)) return false;
      AppendKey(key, g.values.back());
    }
    if (!r.Get(&g.created_unix) || !std::isfinite(g.created_unix) || g.created_unix < 0 ||
        !g.windows.Restore(r) || g.windows.tick() > tick || !index.emplace(key, i).second) {
      return r.Fail();
    }
  }
  SeriesTable table;
  if (!r.GetCount(&series, 32)) return false;
  for (uint32_t i = 0; i < series; ++i) {
    SeriesTable::State in;
    if (!r.Get(&in.hash) || !r.Get(&in.last) || !r.Get(&in.created) || !r.Get(&in.last_seen) ||
        !r.Get(&in.group)) {
      return false;
    }
    const bool group_ok =
        in.group == kNoGroup || (in.group < slots && groups[in.group].has_value());
    if (!group_ok || !std::isfinite(in.last) || in.last < 0 || !std::isfinite(in.created) ||
        in.created < 0 || in.last_seen > tick) {
      return r.Fail();
    }
    const auto [idx, inserted] = table.FindOrInsert(in.hash, SeriesTable::kNone);
    if (!inserted) return r.Fail();  // a series twice
    table.at(idx) = in;
    if (in.group != kNoGroup) ++groups[in.group]->live_series;
  }
  groups_ = std::move(groups);
  free_ = std::move(free);
  group_index_ = std::move(index);
  series_ = std::move(table);
  for (auto& h : hints_) h.clear();
  pending_.assign(groups_.size() * columns_.size(), 0.0);
  touched_.clear();
  tick_ = tick;
  last_expire_tick_ = last_expire;
  restored_tick_ = tick;
  stats_ = stats;
  return true;
}

}  // namespace lookout::slo
