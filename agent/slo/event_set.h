#pragma once
// An event set: counters read from the metric view each tick, turned into event counts per
// group, kept in sliding windows. An SLO is an event set of two columns (good or bad, and
// total); the payments are one of four (attempts, successes, declines, errors).
//
// Counter increases (PromQL's increase() without its extrapolation):
//  - a series' first reading is its baseline and counts nothing, unless the source says the
//    counter was created after the engine started (OpenMetrics `_created`, OTLP start time):
//    then all of its value happened while we watched, and counts;
//  - a value below the previous one, or a newer `_created`, is a reset: the new value counts;
//  - a series that vanishes keeps its last value for `series_retention`, so a failed scrape or
//    a restarting pod loses no events: what it gained meanwhile counts when it comes back;
//  - the events of a group are the sum over its series: a pod leaving the group takes its
//    series with it but never its events, which stay in the windows.
//
// Not thread-safe: the SLO engine serialises Update() and reads under its lock.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/slo/event_windows.h"
#include "agent/slo/series_table.h"
#include "agent/slo/state_codec.h"
#include "lookout/metrics/metric_view.h"

namespace lookout::slo {

struct EventColumn {
  Selector selector;         // metric empty: derived by the set's Derive function
  std::optional<double> le;  // latency SLIs: only the `_bucket` series with this bound
};

struct EventSetOptions {
  size_t max_groups = 1000;             // groups beyond this are refused (counted)
  int64_t series_retention_ticks = 90;  // a vanished series' last value is kept this long
};

class EventSet {
 public:
  // Fills in derived columns from the others, per group and tick.
  using Derive = std::function<void(double* deltas)>;

  struct Group {
    Group(const WindowLayout& layout, int counters, int64_t tick)
        : windows(layout, counters, tick) {}
    std::vector<std::string> values;  // of group_by, in order; "" where a series lacks the label
    WindowedCounts windows;
    double created_unix = 0;
    uint32_t live_series = 0;
  };

  struct Stats {
    uint64_t resets = 0;          // counter resets seen
    uint64_t refused_series = 0;  // series whose group was over max_groups
    uint64_t groups_removed = 0;  // groups idle longer than the longest window
  };

  EventSet(std::vector<EventColumn> columns, std::vector<std::string> group_by,
           const WindowLayout& layout, EventSetOptions options, int64_t start_tick,
           double start_unix, Derive derive = {});

  // One tick: reads every column from `view`, adds the increases to the groups' open buckets.
  // `now_unix` becomes the creation time of groups that appear.
  void Update(const MetricView& view, int64_t tick, double now_unix);

  const std::vector<std::string>& group_by() const { return group_by_; }
  const WindowLayout& layout() const { return *layout_; }
  int columns() const { return static_cast<int>(columns_.size()); }
  // Live groups (removed groups leave null slots that are reused).
  const std::vector<std::optional<Group>>& groups() const { return groups_; }
  size_t group_count() const { return groups_.size() - free_.size(); }
  size_t series_count() const { return series_.size(); }
  const Stats& stats() const { return stats_; }
  size_t HeapBytes() const;

  // The state file (agent/slo/state_file.h). Save writes the groups (their label values,
  // creation time and windows), every followed series' last reading and the tick. Restore reads
  // that into a set made with the same columns, group_by and layout (the caller checks the
  // spec's fingerprint), replacing its state; on failure (reason "corrupt") it returns false and
  // the set is as it was. After a restore, the first reading of each restored series counts its
  // increase since the saved value (reset-aware, as every reading), spread evenly over the ticks
  // since the saved tick (WindowedCounts::AddSpread): the agent's downtime loses no events.
  void Save(StateWriter& w) const;
  // The bytes Save writes (to size the buffer once: the state of 10,000 groups is ~32 MB).
  size_t SavedBytes() const;
  // `max_tick`: the file's own tick; a set claiming a later one is corrupt.
  bool Restore(StateReader& r, int64_t max_tick);
  // After a restore: moves the windows to `tick` (buckets that aged out while the agent was down
  // leave, as if it had run), and starts the restored series' retention there: a series not
  // read yet after a long downtime is kept slo.series_retention from now, not from the save.
  void Resume(int64_t tick);
  int64_t tick() const { return tick_; }

 private:
  static constexpr uint32_t kNoGroup = SeriesTable::kNone;

  void AdvanceTo(int64_t tick);
  uint32_t GroupFor(const SeriesRef& r, int64_t tick, double now_unix);
  // One reading of series `hash` in metric walk `walk`: its increase goes to its group's
  // pending events, in each of the walk's columns whose bit is set in `columns`.
  void Observe(size_t walk, uint32_t columns, uint64_t hash, const SeriesRef& r, int64_t tick,
               double now_unix);
  void Expire(int64_t tick);

  std::vector<EventColumn> columns_;
  std::vector<std::string> group_by_;
  const WindowLayout* layout_;
  EventSetOptions options_;
  double start_unix_;
  Derive derive_;
  std::vector<std::optional<Group>> groups_;  // by value: one pointer less to chase per tick
  std::vector<uint32_t> free_;
  std::unordered_map<std::string, uint32_t> group_index_;  // group_by values joined by \xff
  SeriesTable series_;                                     // by hash of column + labels
  // Series state found at each position of each metric walk, last tick and this tick.
  std::vector<std::vector<uint32_t>> hints_, next_hints_;
  std::vector<std::pair<std::string, std::vector<size_t>>> by_metric_;  // metric -> columns
  std::vector<double> pending_;    // [group][column], this tick
  std::vector<uint32_t> touched_;  // groups with pending events
  // The same for increases of restored series seen for the first time since the restore, which
  // are spread over the downtime; empty until then.
  std::vector<double> spread_pending_;
  std::vector<uint32_t> spread_touched_;
  int64_t restored_tick_ = -1;  // the saved tick a restore started from; -1: none
  int64_t resume_tick_ = 0;     // retention of series last seen before it counts from here
  int64_t tick_ = 0;            // every group's windows are at this tick
  std::vector<WindowLayout::Rotation> plan_;
  int64_t last_expire_tick_ = 0;
  std::string key_scratch_;
  Stats stats_;
};

}  // namespace lookout::slo
