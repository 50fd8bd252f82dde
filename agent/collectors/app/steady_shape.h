#pragma once
// SteadyShape: a target's body as it was last parsed, line by line, so that a later body with
// the same lines but for the sample values is read without parsing its labels again.
//
// Why: an application serves the same series in the same order scrape after scrape; only the
// values change. Parsing a line's labels (lexing, unescaping, sorting, hashing, building the
// compact row) is most of a full parse (exposition_parser.cc), and it gives the same result
// every time for the same bytes. Prometheus's scrape loop skips it too: its scrape cache maps
// each series' bytes as written to the series it made of them. Here the cache is by position:
// line n of the new body must have the same bytes as line n of the learned one up to the end
// of its labels (comments: the whole line). Any other difference (a series more or less, a
// changed label, HELP or TYPE, a timestamp, an exemplar) makes Apply give up, and the caller
// parses the body whole and learns its shape again.
//
// Exactness: equal bytes up to the end of the labels are read the same way by the parser, so a
// line may differ only after them, where Apply reads the value by the parser's rules
// (exposition_values.h) and refuses what the parser would treat differently (a value that is
// not a count where one is required, an info value other than 1, histogram buckets that
// decrease or do not end at the count). steady_shape_test.cc and fuzz.exposition check that
// Apply's result equals a full parse's.
//
// Memory: the learned keys (each line's name and labels as written, comments whole) and 12
// bytes per line; for a 100,000-series body of about 9 MB, about 9 MB. Apply reads the values
// (8 bytes a line) before it copies the last result's rows, so a body that does not fit costs
// no copy.
//
// Thread-safety: immutable once learned; Apply is const and may run from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/collectors/app/exposition_parser.h"
#include "lookout/metrics/compact_families.h"
#include "lookout/metrics/metric.h"

namespace lookout::app {

class SteadyShape {
 public:
  // The shape of `body`, whose full parse (with the same format and target labels) traced
  // `trace` and made `result`; nullopt when the trace is not complete (LineTrace) or a line's
  // value has no place in `result`.
  static std::optional<SteadyShape> Learn(std::string_view body, ExpositionFormat format,
                                          const Labels& target_labels, const LineTrace& trace,
                                          const CompactFamilies& result);

  // `body`'s values in a copy of `base` (the result Learn saw, or a copy Apply made of it),
  // stamped `scrape_time_ms`; nullopt when `body` does not have the learned shape, or the
  // format or target labels changed: then parse it whole.
  std::optional<CompactFamilies> Apply(std::string_view body, ExpositionFormat format,
                                       const Labels& target_labels, const CompactFamilies& base,
                                       int64_t scrape_time_ms) const;

  // Sample lines, relabeling's dropped ones included, as ParseStats::samples counts them.
  size_t sample_lines() const { return sample_lines_; }

 private:
  enum class Check : uint8_t { kNone, kCount, kInfoOne };
  struct Line {
    uint32_t key_size = 0;
    uint32_t row = 0;  // sample: where its value goes (CompactFamilies::ValueRef)
    LineTrace::Kind kind = LineTrace::Kind::kComment;
    CompactFamilies::Part part = CompactFamilies::Part::kValue;
    Check check = Check::kNone;
  };

  SteadyShape() = default;

  ExpositionFormat format_ = ExpositionFormat::kText;
  Labels target_labels_;
  std::string keys_;  // each line's key, one after another
  std::vector<Line> lines_;
  size_t sample_lines_ = 0;
};

}  // namespace lookout::app
