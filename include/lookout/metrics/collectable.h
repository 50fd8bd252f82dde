#pragma once
// Collectable: anything that can hand over its metric families now (prometheus-cpp's idea).
// The /metrics handler holds collectables weakly, so a source that goes away simply stops
// appearing. Implementations must be safe to call from several scrapes at once.

#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout {

class Collectable {
 public:
  virtual ~Collectable() = default;
  virtual void Collect(std::vector<MetricFamily>& out) = 0;
};

}  // namespace lookout
