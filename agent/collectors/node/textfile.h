#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lookout/metrics/metric.h"
#include "lookout/result.h"

namespace lookout {

// One metric family of a .prom file as node_exporter 1.5 reads it (prometheus/common's text
// parser, which is stricter than Prometheus's own and than lookout's app scrape parser).
struct TextfileFamily {
  std::string name;
  std::optional<std::string> help;  // nullopt: no HELP line
  MetricType type = MetricType::kUntyped;
  // One entry per metric, in file order. Counters, gauges and untyped: one per sample line (a
  // repeated series stays here; the merge drops it). Histograms and summaries: one per label set.
  // Labels as written (le/quantile of histograms/summaries left out). Buckets and quantiles as
  // written, repeats included (the last one wins in the merge); counts are Go's float64->uint64
  // conversions (2.7 -> 2, -1 -> 2^64-1).
  std::vector<Sample> metrics;
};

// Errors (reason "parse"; detail with the line) where node_exporter refuses the file: every text
// format error of prometheus/common (a missing final newline, a second HELP or TYPE for a family,
// TYPE after samples, trailing white space after a value, "\r", bad escapes, values that are not
// Go floats, ...), and samples with a timestamp. Also (node_exporter crashes on these instead):
// a label named __*, samples of a gauge_histogram, HELP text that is not UTF-8.
Result<std::vector<TextfileFamily>> ParseTextfile(std::string_view text);

// A .prom file read without error: its path as node_exporter names it and its families (shared
// with the collector's cache of parsed files).
struct TextfileContent {
  std::string path;
  std::shared_ptr<const std::vector<TextfileFamily>> families;
};

// What node_exporter 1.5 exposes for these files (in directory order) followed by `own` (the
// collector's node_textfile_* families): families without HELP get "Metric read from <the files
// that have it>"; within a file's family every series gets every label name of the family (""
// where it had none); then client_golang's registry rules, first come first served: a series of
// a family seen before with another HELP or TYPE is dropped, as are a repeated series and a new
// family whose name collides with a summary's or histogram's _count/_sum/_bucket. Histograms
// get their +Inf bucket. Families sorted by name, series by label values. Pure.
std::vector<MetricFamily> MergeTextfiles(const std::vector<TextfileContent>& files,
                                         std::vector<MetricFamily> own);

}  // namespace lookout
