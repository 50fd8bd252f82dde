#pragma once
// Collector: reads one source (a /proc file, a cgroup tree, ...) when a scrape asks for it and
// appends metric families. A collector's name is its config key, its log tag and the value of the
// `collector` label on lookout_collector_{duration_seconds,success}.
//
// Thread-safety: Collect() may be called from several scrapes at once; implementations either
// keep no mutable state or guard it themselves.

#include <string_view>
#include <vector>

#include "lookout/metrics/metric.h"
#include "lookout/result.h"

namespace lookout {

class Collector {
 public:
  virtual ~Collector() = default;
  virtual std::string_view Name() const = 0;
  // Appends this collector's families to `out`. On failure, returns the error; whatever it had
  // appended before failing is discarded by the caller, so a failed collector shows no partial
  // data. May throw (std::bad_alloc, a library's exception): the CollectorSet catches anything,
  // drops the partial output and reports reason "exception", as for a returned error; the
  // scrape and the other collectors go on. (Not noexcept: a throw would then end the process.)
  virtual Status Collect(std::vector<MetricFamily>& out) = 0;
};

}  // namespace lookout
