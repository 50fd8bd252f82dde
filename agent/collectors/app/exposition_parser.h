#pragma once
// Parser for the Prometheus text format 0.0.4 and OpenMetrics 1.0, into the one metrics model
// (include/lookout/metrics/metric.h), so scraped metrics are re-exposed by the same encoders as
// everything else.
//
// One pass over the body, no line copies; families and series are found through hash maps, so
// interleaved families and large bodies stay linear. Histogram and summary lines are grouped
// into one Sample per label set. Every limit is checked while parsing: the first one crossed
// fails the whole body with a reason, so memory is bounded by the limits, not by the input.
//
// Pure functions; thread-safe.

#include <cstddef>
#include <string_view>
#include <vector>

#include "lookout/metrics/compact_families.h"
#include "lookout/metrics/metric.h"
#include "lookout/metrics/relabel.h"
#include "lookout/result.h"

namespace lookout::app {

enum class ExpositionFormat { kText, kOpenMetrics };

// From a response's Content-Type: application/openmetrics-text → OpenMetrics, anything else
// (text/plain, missing, unknown) → text 0.0.4, as Prometheus falls back.
ExpositionFormat FormatFromContentType(std::string_view content_type);

struct ParseLimits {
  size_t max_samples = 500000;  // sample lines (each bucket line counts)
  size_t max_labels = 64;       // per series, target labels included
  size_t max_label_name_length = 256;
  size_t max_label_value_length = 4096;
};

struct ParseOptions {
  ParseLimits limits;
  // Added to every series (namespace, pod, job, instance ...). A label the application already
  // sets with one of these names is kept as exported_<name> (Prometheus's honor_labels: false).
  Labels target_labels;
  // false: clashing app labels are still renamed, but target labels are not copied into every
  // series; the caller adds them when it exposes the families (the scrape manager does, so a
  // stored scrape holds each target label once, not once per series). Ignored (taken as true)
  // with relabeling: the rules see and may change the target labels of each series.
  bool attach_target_labels = true;
  // metric_relabel_configs (not owned; null or empty: none), applied to each sample line's
  // series as Prometheus does (after the target labels, before the line is stored), so a rule
  // may rename or drop a histogram's bucket line like any other series.
  const Relabeler* relabel = nullptr;
};

struct ParseStats {
  size_t samples = 0;          // sample lines accepted
  size_t duplicates = 0;       // repeated series (the first one wins)
  size_t invalid = 0;          // histogram/summary series with parts missing, dropped
  size_t relabel_dropped = 0;  // sample lines dropped by metric_relabel_configs
};

// What each line of a body became, for SteadyShape (steady_shape.h): filled by ParseExposition
// when asked. `complete` is true only when every line's fate is plain: the body parsed, no
// family turned untyped, no series repeated or left out for missing parts, no timestamps, no
// exemplars (OpenMetrics: nothing after the value), no label value over several lines, and a
// body under 4 GiB. Only then do the lines say where each value of the result is. (The value's
// place is said in the compact result's terms, CompactFamilies::Part, as that is where
// SteadyShape reads and writes.)
struct LineTrace {
  enum class Kind : uint8_t { kComment, kSample, kDropped };  // kDropped: by relabeling
  struct Line {
    uint32_t start = 0;     // offset in the body
    uint32_t key_size = 0;  // comment: the whole line; sample: its name and labels as written
    Kind kind = Kind::kComment;
    CompactFamilies::Part part = CompactFamilies::Part::kValue;
    uint32_t family = 0;           // sample: index in the result
    uint32_t sample = 0;           // sample: index in that family's samples
    uint32_t index_in_sample = 0;  // bucket or quantile: which of the sample's
  };
  std::vector<Line> lines;
  bool complete = false;
};

// Errors (reason): "parse" (with the line number in detail), "sample_limit", "label_limit",
// "label_length", "truncated" (OpenMetrics without "# EOF").
//
// `recycle`: an earlier result nobody reads any more (the scrape manager's parse buffers). Its
// samples' labels, and a histogram's or summary's buckets and quantiles, are reused for this
// body's series at the same family and sample position, so a body shaped like the earlier one
// allocates almost nothing; what this body does not reuse is freed. The output never depends
// on it.
Result<std::vector<MetricFamily>> ParseExposition(std::string_view body, ExpositionFormat format,
                                                  const ParseOptions& options,
                                                  ParseStats* stats = nullptr,
                                                  std::vector<MetricFamily> recycle = {},
                                                  LineTrace* trace = nullptr);

}  // namespace lookout::app
