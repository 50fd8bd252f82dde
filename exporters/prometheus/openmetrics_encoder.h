#pragma once
// OpenMetrics 1.0 text format: `# EOF`, counters as `<family>_total` with `_created`, `# UNIT`,
// exemplars on counters and histogram buckets, timestamps in seconds.

#include <string>
#include <vector>

#include "lookout/metrics/metric.h"

namespace lookout::prometheus {

// Appends `families` and the closing `# EOF` line to `out`.
void EncodeOpenMetrics(const std::vector<MetricFamily>& families, std::string& out);

// The same in parts (see EncodeTextHeader): a family's TYPE, UNIT and HELP lines once, then the
// lines of each chunk of its samples; the caller appends `# EOF` after the last family.
void EncodeOpenMetricsHeader(const MetricFamily& f, std::string& out);
void EncodeOpenMetricsSamples(const MetricFamily& f, const std::vector<Sample>& samples,
                              std::string& out);

}  // namespace lookout::prometheus
