#pragma once
// Querying metrics by name and label matchers, as PromQL's instant vector selectors do, over a
// snapshot of families. The SLO engine reads the counters it needs (scraped app metrics, OTLP
// metrics, span metrics) through this.
//
// Series are named as Prometheus stores them: a counter's `foo_total`, a histogram's
// `foo_bucket{le=...}`, `foo_sum`, `foo_count`, a summary's `foo{quantile=...}`, `foo_sum`,
// `foo_count`. Regex matchers are fully anchored, like PromQL's. A missing label matches "".
//
// MetricView is immutable once built: safe to read from several threads.

#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lookout/metrics/collectable.h"
#include "lookout/metrics/metric.h"
#include "lookout/result.h"

namespace re2 {
class RE2;
}

namespace lookout {

// A PromQL label matcher. Regular expressions are RE2's syntax, as Prometheus's (Go's regexp),
// fully anchored. Thread-safety: const methods are safe from any thread (RE2 is).
class LabelMatcher {
 public:
  enum class Op { kEqual, kNotEqual, kRegexMatch, kRegexNoMatch };
  // Errors (reason "selector"): an invalid label name or regular expression.
  static Result<LabelMatcher> Make(std::string name, Op op, std::string value);
  bool Matches(std::string_view value) const;
  const std::string& name() const { return name_; }
  Op op() const { return op_; }
  const std::string& value() const { return value_; }

 private:
  std::string name_;
  Op op_ = Op::kEqual;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;
};

// A selector: metric name plus matchers, e.g. `payment_attempts_total{provider=~"stripe|adyen"}`.
struct Selector {
  std::string metric;
  std::vector<LabelMatcher> matchers;
};
// Parses PromQL's instant-vector selector syntax: name, then optional {l="v", l!="v", l=~"re",
// l!~"re"} with PromQL's string escapes. Errors have reason "selector" and say where.
Result<Selector> ParseSelector(std::string_view text);

struct SeriesPoint {
  Labels labels;  // the series' labels (le / quantile included for those series)
  double value = 0;
};

// One series as ForEach hands it over, without copying: its labels are the sample's own
// `labels` followed by `target_labels` (its source's, may be null; see SharedFamilies); for a
// `_bucket` or quantile series the `le` / `quantile` label is not in them but in `le` /
// `quantile`, as numbers (NaN otherwise).
struct SeriesRef {
  const Labels& labels;
  double value;
  std::optional<double> created;  // unix seconds, when the source knows it
  double le;
  double quantile;
  const Labels* target_labels;
  // The value of label `name` ("" when absent): the first of labels, then target_labels.
  std::string_view Label(std::string_view name) const {
    for (const auto& l : labels) {
      if (l.name == name) return l.value;
    }
    if (target_labels) {
      for (const auto& l : *target_labels) {
        if (l.name == name) return l.value;
      }
    }
    return {};
  }
};

class MetricView {
 public:
  MetricView() = default;
  explicit MetricView(std::vector<MetricFamily> families);
  // A view over shared snapshots, without copying them: only the families `wanted` accepts are
  // indexed, each by its own type's series names (families sharing a name with different types
  // are all kept: PromQL selects series whatever their TYPE).
  MetricView(std::vector<SharedFamilies> shared,
             const std::function<bool(std::string_view)>& wanted);
  std::vector<SeriesPoint> Select(std::string_view metric,
                                  const std::vector<LabelMatcher>& matchers) const;
  std::vector<SeriesPoint> Select(const Selector& s) const { return Select(s.metric, s.matchers); }
  // Calls fn(const SeriesRef&) for each matching series: the SLO engine's hot path, which must
  // not copy labels.
  template <typename Fn>
  void ForEach(std::string_view metric, const std::vector<LabelMatcher>& matchers, Fn&& fn) const;
  // Whether a series ForEach handed over matches `matchers` (le / quantile included).
  static bool Matches(std::string_view metric, const std::vector<LabelMatcher>& matchers,
                      const SeriesRef& r) {
    if (matchers.empty()) return true;
    if (!std::isnan(r.le)) return Matches(metric, matchers, r.labels, r.target_labels, "le", r.le);
    if (!std::isnan(r.quantile)) {
      return Matches(metric, matchers, r.labels, r.target_labels, "quantile", r.quantile);
    }
    return Matches(metric, matchers, r.labels, r.target_labels, {}, 0);
  }

 private:
  enum class Part : uint8_t { kValue, kBucket, kSum, kCount, kQuantile };
  struct FamilyRef {
    const MetricFamily* family;
    const Labels* target_labels;  // null: none
  };
  static bool Matches(std::string_view metric, const std::vector<LabelMatcher>& matchers,
                      const Labels& labels, const Labels* target_labels,
                      std::string_view extra_name, double extra_value);
  std::vector<SharedFamilies> shared_;  // keeps what families_ points into alive
  std::vector<FamilyRef> families_;
  std::unordered_map<std::string, std::vector<std::pair<size_t, Part>>> by_name_;
};

template <typename Fn>
void MetricView::ForEach(std::string_view metric, const std::vector<LabelMatcher>& matchers,
                         Fn&& fn) const {
  auto it = by_name_.find(std::string(metric));
  if (it == by_name_.end()) return;
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  for (const auto& [fi, part] : it->second) {
    const Labels* t = families_[fi].target_labels;
    for (const Sample& s : families_[fi].family->samples) {
      switch (part) {
        case Part::kValue:
          if (Matches(metric, matchers, s.labels, t, {}, 0))
            fn(SeriesRef{s.labels, s.value, s.created, kNaN, kNaN, t});
          break;
        case Part::kSum:
          if (Matches(metric, matchers, s.labels, t, {}, 0))
            fn(SeriesRef{s.labels, s.sum, s.created, kNaN, kNaN, t});
          break;
        case Part::kCount:
          if (Matches(metric, matchers, s.labels, t, {}, 0)) {
            fn(SeriesRef{s.labels, static_cast<double>(s.count), s.created, kNaN, kNaN, t});
          }
          break;
        case Part::kBucket:
          for (const auto& b : s.buckets) {
            if (Matches(metric, matchers, s.labels, t, "le", b.upper_bound)) {
              fn(SeriesRef{s.labels, static_cast<double>(b.cumulative_count), s.created,
                           b.upper_bound, kNaN, t});
            }
          }
          break;
        case Part::kQuantile:
          for (const auto& q : s.quantiles) {
            if (Matches(metric, matchers, s.labels, t, "quantile", q.quantile)) {
              fn(SeriesRef{s.labels, q.value, s.created, kNaN, q.quantile, t});
            }
          }
          break;
      }
    }
  }
}

// MetricViewSource: builds query views (MetricView) over a set of collectables, held weakly like
// the /metrics renderer's. It stores nothing itself: each View() collects or shares snapshots.
// Thread-safety: Add() and View() may be called from any thread.
class MetricViewSource {
 public:
  void Add(std::weak_ptr<Collectable> c);
  MetricView View() const;
  // A view of only the families that can hold these series names (`foo_total`, `foo_bucket`,
  // ... as in Select): sources share their snapshots or copy only those (ShareSome).
  MetricView View(const std::vector<std::string>& series_names) const;

 private:
  std::vector<std::shared_ptr<Collectable>> Live() const;  // drops expired sources

  mutable std::mutex mu_;
  mutable std::vector<std::weak_ptr<Collectable>> sources_;  // guarded by mu_
};

}  // namespace lookout
