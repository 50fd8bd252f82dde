#pragma once
// CollectorSet runs a list of collectors on each scrape and reports, per collector and in the
// same scrape, lookout_collector_duration_seconds, lookout_collector_success and, once a
// collector has failed, lookout_collector_errors_total{collector,reason} (counting the failure of
// this very scrape). One failing collector never fails the scrape: a returned error or any
// exception (collectors may throw, see Collector::Collect) drops its partial output (kept for a
// MakePartialError), counts the reason, is logged (at most once a minute per collector and reason,
// with how many were not), and the others are unaffected.
//
// The agent runs one set per source (node collectors, pod collectors), each behind its own
// endpoint (/metrics/node, /metrics/cadvisor) as well as /metrics; the sets' lookout_collector_*
// families have disjoint `collector` labels and merge on /metrics.
//
// Thread-safety: Collect() may run concurrently from several scrapes.

#include <memory>
#include <vector>

#include "agent/common/log.h"
#include "lookout/collector.h"
#include "lookout/metrics/collectable.h"
#include "lookout/metrics/self_metrics.h"

namespace lookout {

class CollectorSet final : public Collectable {
 public:
  explicit CollectorSet(std::vector<std::unique_ptr<Collector>> collectors);
  void Collect(std::vector<MetricFamily>& out) override;
  size_t size() const { return collectors_.size(); }

 private:
  std::vector<std::unique_ptr<Collector>> collectors_;
  // lookout_collector_errors_total, rendered after the collectors ran so a failure shows in the
  // scrape it happened in.
  SelfMetrics errors_registry_;
  Family<::prometheus::Counter>& errors_;
  LogRateLimiter log_limiter_{std::chrono::minutes(1)};
};

}  // namespace lookout
