#pragma once
// Collectable: anything that can hand over its metric families now (prometheus-cpp's idea).
// The /metrics handler holds collectables weakly, so a source that goes away simply stops
// appearing. Implementations must be safe to call from several scrapes at once.

#include <functional>
#include <string_view>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout {

class Collectable {
 public:
  virtual ~Collectable() = default;
  virtual void Collect(std::vector<MetricFamily>& out) = 0;
  // Only the families whose name `wanted` accepts: what the SLO engine reads every tick.
  // Sources holding many families (scraped apps, OTLP) override it so they copy only those.
  virtual void CollectSome(const std::function<bool(std::string_view)>& wanted,
                           std::vector<MetricFamily>& out) {
    std::vector<MetricFamily> all;
    Collect(all);
    for (auto& f : all) {
      if (wanted(f.name)) out.push_back(std::move(f));
    }
  }
};

}  // namespace lookout
