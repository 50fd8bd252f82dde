#pragma once
// CollectorSet runs a list of collectors on each scrape and reports, per collector,
// lookout_collector_duration_seconds, lookout_collector_success and, on failure,
// lookout_collector_errors_total{collector,reason}. One failing (or throwing) collector never
// fails the scrape: its partial output is dropped and the others are unaffected.
//
// Thread-safety: Collect() may run concurrently from several scrapes.

#include <memory>
#include <vector>

#include "agent/common/log.h"
#include "lookout/collector.h"
#include "lookout/metrics/collectable.h"
#include "lookout/metrics/registry.h"

namespace lookout {

class CollectorSet final : public Collectable {
 public:
  // `registry` receives lookout_collector_errors_total and must outlive this set.
  CollectorSet(std::vector<std::unique_ptr<Collector>> collectors, Registry& registry);
  void Collect(std::vector<MetricFamily>& out) override;
  size_t size() const { return collectors_.size(); }

 private:
  std::vector<std::unique_ptr<Collector>> collectors_;
  Family<Counter>& errors_;
  LogRateLimiter log_limiter_{std::chrono::minutes(1)};
};

}  // namespace lookout
