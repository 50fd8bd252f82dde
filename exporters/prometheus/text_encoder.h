#pragma once
// Prometheus text exposition format 0.0.4.

#include <string>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout::prometheus {

// Appends `families` to `out`. Exemplars and `_created` are not part of this format and are
// left out; info families are exposed as gauges.
void EncodeText(const std::vector<MetricFamily>& families, std::string& out);

// The same in parts, for a family whose samples come in chunks (MetricsRenderer, compact
// sources): its HELP and TYPE lines once, then the lines of each chunk. `f` gives the family's
// name and type; its own samples are not read.
void EncodeTextHeader(const MetricFamily& f, std::string& out);
void EncodeTextSamples(const MetricFamily& f, const std::vector<Sample>& samples, std::string& out);

}  // namespace lookout::prometheus
