#pragma once
// OtlpMetricStore: OTLP metrics pushed by applications, kept as Prometheus series and re-exposed
// on /metrics (names per the OpenTelemetry Prometheus compatibility rules).
//
// - Cumulative sums, histograms and summaries replace the series' value; delta sums and delta
//   histograms are accumulated into cumulative ones (the agent becomes the series' memory).
// - Gauges and non-monotonic sums become gauges; exponential histograms are refused and
//   counted (reason "exponential_histogram"), never silently dropped.
// - job/instance come from service.namespace/service.name and service.instance.id; the other
//   resource attributes go to target_info. otel_scope_name/version label each series.
// - A series not pushed for otlp.metrics.series_ttl disappears; beyond otlp.metrics.max_series
//   new series are refused (reason "series_limit"): memory stays bounded.
//
// Thread-safety: Ingest() and Collect() may run concurrently from any threads (one mutex; no I/O
// under it).

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/otlp/otlp_options.h"
#include "lookout/clock.h"
#include "lookout/metrics/collectable.h"
#include "lookout/otlp/metrics_consumer.h"

namespace opentelemetry::proto::collector::metrics::v1 {
class ExportMetricsServiceRequest;
}
namespace opentelemetry::proto::metrics::v1 {
class HistogramDataPoint;
}

namespace lookout::otlp {

// The Prometheus buckets of an OTLP explicit-bucket histogram point, translated as the
// OpenTelemetry Collector's Prometheus exporter does (duplicate bounds keep their first bucket,
// unsorted bounds are sorted, one +Inf bucket equal to the count); empty with `why` set when no
// translation is valid (a NaN bound, bucket_counts of the wrong length, buckets over the count).
std::vector<Bucket> HistogramBuckets(const opentelemetry::proto::metrics::v1::HistogramDataPoint& p,
                                     std::string* why);

class OtlpMetricStore final : public Collectable, public MetricsConsumer {
 public:
  OtlpMetricStore(const OtlpOptions& cfg, const Clock& clock);

  IngestResult Ingest(
      const opentelemetry::proto::collector::metrics::v1::ExportMetricsServiceRequest& req)
      override;
  void Collect(std::vector<MetricFamily>& out) override;
  // Only the scraped/pushed families `wanted` accepts (the SLO engine's read), no copies of
  // the rest.
  void CollectSome(const std::function<bool(std::string_view)>& wanted,
                   std::vector<MetricFamily>& out) override;
  size_t series_count() const;

 private:
  struct Series {
    Sample sample;
    std::chrono::steady_clock::time_point last_seen;
  };
  struct Family {
    MetricType type = MetricType::kUntyped;
    std::string help;
    std::string unit;
    std::unordered_map<std::string, Series> series;  // by label key
  };
  void ExpireLocked(std::chrono::steady_clock::time_point now);
  void Reject(IngestResult& r, const std::string& reason, int64_t n, const std::string& what);

  const std::chrono::milliseconds ttl_;
  const size_t max_series_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, Family, std::less<>> families_;  // guarded by mu_
  size_t series_ = 0;                                    // guarded by mu_
  std::chrono::steady_clock::time_point last_expiry_{};  // guarded by mu_
  uint64_t accepted_total_ = 0;                          // guarded by mu_
  std::map<std::string, uint64_t> rejected_total_;       // by reason; guarded by mu_
  uint64_t expired_total_ = 0;                           // guarded by mu_
};

}  // namespace lookout::otlp
