#pragma once
// Span metrics (RED) with the OpenTelemetry Collector spanmetrics connector's names, so the
// dashboards and SLOs written for it work unchanged:
//   traces_span_metrics_calls_total{service_name, span_name, span_kind, status_code, <dims>}
//   traces_span_metrics_duration_milliseconds{...}  (histogram; _seconds with unit "s")
// span_kind is SPAN_KIND_*, status_code STATUS_CODE_*, as the connector writes them. Histogram
// buckets and the counter carry the latest span as an exemplar (trace_id, span_id).
//
// Bounded: at most max_series label sets; spans of further sets go to one overflow series
// labelled otel_metric_overflow="true" (the connector's convention). Series not seen for
// `expiry` are removed, so a burst of one-off span names does not stay forever.
//
// Thread-safety: Record through a Batch (one lock per request); Collect from any thread.

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "agent/common/hash.h"
#include "lookout/clock.h"
#include "lookout/metrics/collectable.h"

namespace lookout::trace {

struct SpanMetricsOptions {
  // Extra labels from span attributes (else resource attributes) of these names; label names
  // are sanitised (http.method -> http_method). A missing attribute gives "" (label absent).
  std::vector<std::string> dimensions;
  bool seconds = false;         // unit s instead of ms
  std::vector<double> buckets;  // in the unit; empty = the connector's defaults
  size_t max_series = 10000;
  std::chrono::milliseconds expiry{std::chrono::minutes(5)};
  bool exemplars = true;
  std::string name_prefix = "traces_span_metrics";
};

// What span metrics need of one span; views into the request bytes.
struct SpanFacts {
  std::string_view service_name;
  std::string_view span_name;
  int kind = 0;    // Span.SpanKind
  int status = 0;  // Status.StatusCode
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  std::string_view trace_id;                           // 16 bytes
  std::string_view span_id;                            // 8 bytes
  const std::string_view* dimension_values = nullptr;  // one per options.dimensions, or null
};

class SpanMetrics final : public Collectable {
 public:
  SpanMetrics(SpanMetricsOptions options, const Clock& clock);
  ~SpanMetrics() override;

  // Holds the lock for one request's spans.
  class Batch {
   public:
    explicit Batch(SpanMetrics& m) : m_(m), lock_(m.mu_) {}
    void Record(const SpanFacts& span) { m_.RecordLocked(span); }

   private:
    SpanMetrics& m_;
    std::unique_lock<std::mutex> lock_;
  };

  void Collect(std::vector<MetricFamily>& out) override;
  const SpanMetricsOptions& options() const { return options_; }
  size_t series_count() const;

  struct Series;  // public for the .cc's helpers

 private:
  void RecordLocked(const SpanFacts& span);
  void ExpireLocked(std::chrono::steady_clock::time_point now);

  const SpanMetricsOptions options_;
  const Clock& clock_;
  std::vector<std::string> dimension_labels_;
  mutable std::mutex mu_;
  StringMap<std::unique_ptr<Series>> series_;
  std::unique_ptr<Series> overflow_;  // created on first overflow
  std::string key_;                   // scratch, reused to build lookup keys
  std::chrono::steady_clock::time_point last_expire_;
  uint64_t expired_total_ = 0;
  uint64_t overflow_spans_total_ = 0;
};

// SPAN_KIND_SERVER etc.; out-of-range numbers give SPAN_KIND_UNSPECIFIED.
std::string_view SpanKindName(int kind);
std::string_view StatusCodeName(int code);
// The connector's default duration buckets, in milliseconds.
const std::vector<double>& DefaultSpanDurationBucketsMs();

}  // namespace lookout::trace
