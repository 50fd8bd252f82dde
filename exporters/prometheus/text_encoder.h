#pragma once
// Prometheus text exposition format 0.0.4.

#include <string>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout::prometheus {

// Appends `families` to `out`. Exemplars and `_created` are not part of this format and are
// left out; info families are exposed as gauges.
void EncodeText(const std::vector<MetricFamily>& families, std::string& out);

}  // namespace lookout::prometheus
