#pragma once
// The one in-memory metrics model every source produces and every encoder consumes
// (cmetrics-style: one model, one encoder per output format). Plain value types: no locking,
// owned by whoever built them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lookout {

enum class MetricType : uint8_t { kCounter, kGauge, kHistogram, kSummary, kUntyped, kInfo };

struct Label {
  std::string name;
  std::string value;
  bool operator==(const Label&) const = default;
};
using Labels = std::vector<Label>;

// An exemplar links a sample to a trace (OpenMetrics only). Labels are usually
// trace_id/span_id; OpenMetrics caps their combined length at 128 UTF-8 characters.
struct Exemplar {
  Labels labels;
  double value = 0;
  std::optional<double> timestamp;  // unix seconds
};

struct Bucket {
  double upper_bound = 0;  // `le`; the last bucket must be +Inf
  uint64_t cumulative_count = 0;
  std::optional<Exemplar> exemplar;
  // `le` as a scraped target wrote it ("1", "1.0", "0.10" are three series for Prometheus):
  // written back as it was. Empty: formatted from upper_bound.
  std::string le{};
};

struct Quantile {
  double quantile = 0;
  double value = 0;
  std::string text{};  // `quantile` as a scraped target wrote it (empty: formatted)
};

// One series of a family. Which fields matter depends on the family's type:
// counter/gauge/untyped/info use `value`; histogram uses buckets+sum+count; summary uses
// quantiles+sum+count.
struct Sample {
  Labels labels;
  double value = 0;
  std::vector<Bucket> buckets;
  std::vector<Quantile> quantiles;
  double sum = 0;
  uint64_t count = 0;
  std::optional<double> created;        // unix seconds; OpenMetrics `_created`
  std::optional<Exemplar> exemplar;     // counters
  std::optional<int64_t> timestamp_ms;  // explicit timestamp, rarely wanted
};

// A family: the unit of HELP/TYPE. `name` is the base name as users query it in text format
// (counters keep their `_total`, info families keep `_info`). `unit` is optional; when set, the
// name must end with `_<unit>` (OpenMetrics rule), otherwise the UNIT line is left out.
struct MetricFamily {
  std::string name;
  std::string help;
  MetricType type = MetricType::kUntyped;
  std::string unit;
  std::vector<Sample> samples;
};

// [a-zA-Z_:][a-zA-Z0-9_:]*
inline bool IsValidMetricName(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Prometheus's model.LabelName.IsValid: [a-zA-Z_][a-zA-Z0-9_]*, a leading "__" allowed (what
// relabeling may write: __tmp labels, __name__).
inline bool IsModelLabelName(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// A label name a user may set: IsModelLabelName, and not reserved (`__` prefix).
inline bool IsValidLabelName(std::string_view n) {
  return IsModelLabelName(n) && !n.starts_with("__");
}

}  // namespace lookout
